/* How agenda items are numbered: the mirror of protokolle/numbering.py (read its
   docstring). Both are tested against tests/data/numbering.json. */
(function (root) {
  "use strict";

  function counterFrom(explicit, level) {
    const parts = explicit.split(".");
    const part = (parts.length > level ? parts[level] : parts[parts.length - 1]).trim();
    const match = /^\d+/.exec(part);
    return match ? parseInt(match[0], 10) : null;
  }

  /* entries: [[level, explicitNumber], ...] in reading order → printed numbers. */
  function outlineNumbers(entries) {
    const numbers = [];
    const counters = [];
    const stack = [];
    for (const [rawLevel, rawExplicit] of entries) {
      const level = Math.max(0, Math.min(rawLevel, stack.length));
      stack.length = level;
      counters.length = Math.min(counters.length, level + 1);
      while (counters.length <= level) counters.push(0);
      const explicit = (rawExplicit || "").trim();
      let number;
      if (explicit) {
        number = explicit;
        const counter = counterFrom(explicit, level);
        if (counter !== null) counters[level] = counter;
      } else {
        counters[level] += 1;
        const prefix = stack.length ? stack[stack.length - 1] : "";
        number = prefix ? prefix + "." + counters[level] : String(counters[level]);
      }
      stack.push(number);
      numbers.push(number);
    }
    return numbers;
  }

  root.WerkstattNumbering = { outlineNumbers: outlineNumbers };
})(typeof window !== "undefined" ? window : globalThis);
