/* Every page: say that JavaScript runs (the menu collapses behind its button only
   then), and on the read view mark the words a search hit was found for. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // The same words the search looks for (protokolle/search.py: \w[\w-]*, 2 letters or more).
  function terms(words) {
    return (words.match(/[\p{L}\p{N}_][\p{L}\p{N}_-]*/gu) || []).filter((t) => t.length > 1);
  }

  function markWords(root, words) {
    const found = terms(words).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    if (!found.length) return;
    const pattern = new RegExp(found.join("|"), "giu");
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: (node) =>
        node.parentElement.closest("form, summary, mark") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
    });
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    for (const node of nodes) {
      const text = node.nodeValue;
      const matches = [...text.matchAll(pattern)];
      if (!matches.length) continue;
      const fragment = document.createDocumentFragment();
      let last = 0;
      for (const match of matches) {
        fragment.append(text.slice(last, match.index));
        const mark = document.createElement("mark");
        mark.textContent = match[0];
        fragment.append(mark);
        last = match.index + match[0].length;
      }
      fragment.append(text.slice(last));
      node.replaceWith(fragment);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const minutes = document.querySelector(".minutes-doc[data-hit]");
    if (!minutes) return;
    markWords(minutes.querySelector(".is-hit") || minutes, minutes.dataset.hit);
  });
})();
