/* The minute-taker's editor: add rows where the writer is, move and indent agenda
   items (buttons, keyboard, drag and drop), number them at once (numbering.js),
   keep an outline beside the form, save in the background without losing the
   place, and keep a copy of the input in this browser so that a closed tab or a
   dropped connection loses nothing.
   Without this script the page still saves: order and level are plain fields. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // The form is replaced after every save: always look it up.
  const editorForm = () => document.getElementById("editor-form");
  if (!editorForm()) return;
  const agendaList = () => document.getElementById("agenda-list");
  const statusLine = () => document.getElementById("autosave-status");
  // Times in the page's language (07:59:52, 30.11.2026), not the browser's.
  const lang = document.documentElement.lang || undefined;
  const MAX_LEVEL = 3;
  const storageKey = "werkstatt-editor-" + editorForm().dataset.meeting;
  const data = editorForm().dataset;
  const t = {
    saved: data.msgLocalSaved || "Input kept in this browser at {time}",
    noStorage: data.msgNoStorage || "This browser cannot keep a copy of the input.",
    found: data.msgFound || "This browser kept input that was not saved, from",
    confirmDelete: data.msgConfirmDelete || "Delete this item with its results?",
    saving: data.msgSaving || "Saving …",
    saveFailed: data.msgSaveFailed || "The server could not be reached: nothing was saved.",
    unsaved: data.msgUnsaved || "not saved",
    invalid: data.msgInvalid || "has errors",
    justSaved: data.msgJustSaved || "saved",
    untitled: data.msgUntitled || "(no title yet)",
  };
  const closingTitle = (data.closingTitle || "").trim().toLowerCase();
  let dirty = false;
  let saving = false;

  const people = (() => {
    const node = document.getElementById("people-data");
    try {
      const list = node ? JSON.parse(node.textContent) : [];
      return new Map((Array.isArray(list) ? list : []).map((p) => [p.name, p]));
    } catch (error) {
      return new Map();
    }
  })();

  // --- rows ------------------------------------------------------------------------------

  function totalInput(prefix) {
    return editorForm().querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
  }

  function cloneTemplate(id, prefix, replacements) {
    const total = totalInput(prefix);
    const index = parseInt(total.value, 10);
    let html = document.getElementById(id).innerHTML.replaceAll("__prefix__", String(index));
    for (const [from, to] of Object.entries(replacements || {})) html = html.replaceAll(from, to);
    const holder = document.createElement("template");
    holder.innerHTML = html.trim();
    total.value = String(index + 1);
    const node = holder.content.querySelector(".agenda-item, .result-row, .presenter-row, .participant-row");
    return { node: node, index: index };
  }

  /* Set a field and its "loaded" twin, so that a row added but left empty is not a change. */
  function setBoth(row, suffix, value) {
    row.querySelectorAll(`input[name$="-${suffix}"]`).forEach((input) => {
      input.value = value;
    });
  }

  function addResult(item) {
    const { node } = cloneTemplate("tpl-result", "results");
    setBoth(node, "item_key", item.dataset.key);
    item.querySelector(".result-list").appendChild(node);
    node.querySelector("textarea").focus();
    return node;
  }

  function addPresenter(item) {
    const { node } = cloneTemplate("tpl-presenter", "presenters");
    setBoth(node, "item_key", item.dataset.key);
    item.querySelector(".presenter-list").appendChild(node);
    node.querySelector('input[type="text"]').focus();
    return node;
  }

  /* A new item goes after the current item (and its sub-items), at its level; without a
     current item, before the closing standing item ("Sonstiges"), never after it. */
  function addItem(current) {
    const total = parseInt(totalInput("items").value, 10);
    const { node } = cloneTemplate("tpl-item", "items", { __key__: "new-" + total });
    const all = items();
    let anchor = null;
    let lvl = 0;
    if (current) {
      const group = subtree(current);
      anchor = group[group.length - 1].nextElementSibling;
      lvl = level(current);
    } else {
      const closing = closingItem(all);
      anchor = closing || null;
    }
    agendaList().insertBefore(node, anchor);
    setLevel(node, lvl);
    renumber();
    node.querySelector("textarea").focus();
    node.scrollIntoView({ block: "nearest" });
    return node;
  }

  function closingItem(all) {
    const tops = all.filter((item) => level(item) === 0 && !isDeleted(item));
    const last = tops[tops.length - 1];
    if (!last || !closingTitle) return null;
    const title = field(last, "title");
    return title && title.value.trim().toLowerCase() === closingTitle ? last : null;
  }

  function addParticipant() {
    const { node } = cloneTemplate("tpl-participant", "participants");
    node.querySelectorAll('input[type="radio"][value="guest"]').forEach((r) => (r.checked = true));
    setBoth(node, "status", "guest");
    document.getElementById("participant-list").appendChild(node);
    node.querySelector('input[type="text"]').focus();
    return node;
  }

  // --- the outline ------------------------------------------------------------------------

  function items() {
    return Array.from(agendaList().querySelectorAll(":scope > .agenda-item"));
  }

  function level(item) {
    return parseInt(item.dataset.level || "0", 10);
  }

  function field(item, name) {
    return item.querySelector(`[name="${item.dataset.prefix}-${name}"]`);
  }

  function isDeleted(item) {
    const box = field(item, "DELETE");
    return Boolean(box && box.checked);
  }

  /* The item and the sub-items below it. */
  function subtree(item) {
    const all = items();
    const start = all.indexOf(item);
    const result = [item];
    for (let i = start + 1; i < all.length && level(all[i]) > level(item); i++) result.push(all[i]);
    return result;
  }

  function setLevel(item, value) {
    item.dataset.level = String(value);
    const input = field(item, "level");
    if (input) input.value = String(value);
  }

  /* Numbers as the server prints them (numbering.js mirrors protokolle/numbering.py). */
  function renumber() {
    const live = [];
    let previous = -1;
    items().forEach((item, index) => {
      const order = field(item, "order");
      if (order) order.value = String(index);
      if (isDeleted(item)) {
        item.querySelector(".item-number").textContent = "–";
        return;
      }
      const lvl = Math.min(level(item), previous + 1);
      if (lvl !== level(item)) setLevel(item, lvl);
      previous = lvl;
      live.push(item);
    });
    const entries = live.map((item) => {
      const explicit = field(item, "number");
      return [level(item), explicit ? explicit.value : ""];
    });
    const numbers = window.WerkstattNumbering.outlineNumbers(entries);
    live.forEach((item, i) => {
      item.querySelector(".item-number").textContent = numbers[i];
    });
    drawOutline();
  }

  function drawOutline() {
    const outline = document.getElementById("outline");
    if (!outline) return;
    const current = document.activeElement && document.activeElement.closest ? document.activeElement.closest(".agenda-item") : null;
    const fragment = document.createDocumentFragment();
    items().forEach((item) => {
      if (isDeleted(item)) return;
      const li = document.createElement("li");
      li.dataset.level = item.dataset.level;
      li.dataset.key = item.dataset.key;
      const link = document.createElement("a");
      link.href = "#" + item.id;
      const number = document.createElement("span");
      number.className = "outline-number";
      number.textContent = item.querySelector(".item-number").textContent;
      const title = document.createElement("span");
      title.className = "outline-title";
      const text = field(item, "title");
      title.textContent = (text && text.value.trim()) || t.untitled;
      link.append(number, title);
      // A sign that leaves the title room, its words for screen readers and on hover.
      let mark = null;
      if (item.querySelector(".is-invalid, .invalid-feedback") || item.classList.contains("is-invalid-item")) {
        mark = ["is-invalid", "!", t.invalid];
      } else if (item.classList.contains("is-dirty")) {
        mark = ["is-dirty", "●", t.unsaved];
      } else if (item.classList.contains("is-saved")) {
        mark = ["is-saved", "✓", t.justSaved];
      }
      if (mark) {
        li.classList.add(mark[0]);
        const sign = document.createElement("span");
        sign.className = "outline-mark";
        sign.setAttribute("aria-hidden", "true");
        sign.textContent = mark[1];
        const words = document.createElement("span");
        words.className = "visually-hidden";
        words.textContent = " (" + mark[2] + ")";
        link.title = mark[2];
        link.append(sign, words);
      }
      if (item === current) li.classList.add("is-current");
      li.append(link);
      fragment.append(li);
    });
    outline.replaceChildren(fragment);
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("#outline a");
    if (!link) return;
    const item = document.getElementById(link.hash.slice(1));
    if (!item) return;
    event.preventDefault();
    item.scrollIntoView({ block: "start" });
    const title = field(item, "title");
    if (title) title.focus({ preventScroll: true });
  });

  function move(item, direction) {
    const group = subtree(item);
    const all = items();
    const lvl = level(item);
    if (direction === "up") {
      let i = all.indexOf(item) - 1;
      while (i >= 0 && level(all[i]) > lvl) i--;
      if (i < 0 || level(all[i]) < lvl) return false;
      group.forEach((node) => agendaList().insertBefore(node, all[i]));
    } else if (direction === "down") {
      const after = all.indexOf(group[group.length - 1]) + 1;
      if (after >= all.length || level(all[after]) < lvl) return false;
      const next = subtree(all[after]);
      const anchor = next[next.length - 1].nextElementSibling;
      group.forEach((node) => agendaList().insertBefore(node, anchor));
    } else if (direction === "indent") {
      const before = all[all.indexOf(item) - 1];
      if (!before || level(before) < lvl || lvl >= MAX_LEVEL) return false;
      if (group.some((node) => level(node) >= MAX_LEVEL)) return false;
      group.forEach((node) => setLevel(node, level(node) + 1));
    } else if (direction === "outdent") {
      if (lvl === 0) return false;
      group.forEach((node) => setLevel(node, level(node) - 1));
    }
    return true;
  }

  function moved(item, focusTarget) {
    renumber();
    markDirty(item);
    changed();
    if (focusTarget) focusTarget.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
    announce(item);
  }

  function announce(item) {
    const title = field(item, "title");
    statusLine().textContent =
      item.querySelector(".item-number").textContent + " " + (title ? title.value.slice(0, 60) : "");
  }

  // --- clicks ------------------------------------------------------------------------------

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || !editorForm().contains(button)) return;
    const item = button.closest(".agenda-item");
    if (button.dataset.move && item) {
      if (move(item, button.dataset.move)) moved(item, button);
    } else if (button.dataset.add === "result" && item) {
      markDirty(addResult(item));
      changed();
    } else if (button.dataset.add === "presenter" && item) {
      markDirty(addPresenter(item));
      changed();
    } else if (button.dataset.add === "item") {
      markDirty(addItem(null));
      changed();
    } else if (button.dataset.add === "participant") {
      addParticipant();
      changed();
    } else if (button.hasAttribute("data-all-present")) {
      allPresent();
    } else if (button.dataset.now) {
      const input = document.getElementById(button.dataset.now);
      if (input) {
        const now = new Date();
        input.value = String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0");
        input.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }
  });

  /* "All present": every listed person without a choice yet is marked present. */
  function allPresent() {
    document.querySelectorAll("#participant-list .participant-row").forEach((row) => {
      const radios = row.querySelectorAll('input[type="radio"]');
      if (!Array.from(radios).some((radio) => radio.checked)) {
        const present = row.querySelector('input[type="radio"][value="present"]');
        if (present && row.querySelector('input[type="text"]').value.trim()) present.checked = true;
      }
    });
    changed();
  }

  // --- keyboard ----------------------------------------------------------------------------

  const ONE_LINE = new Set(["text", "number", "date", "time", "email", "url", "search", "tel"]);

  function currentItem() {
    const active = document.activeElement;
    return active && active.closest ? active.closest("#agenda-list > .agenda-item") : null;
  }

  function toggleDetails() {
    const active = document.activeElement;
    if (!active || !active.closest) return;
    const scope = active.closest(".result-row, .participant-row, .agenda-item");
    if (!scope) return;
    const details = scope.querySelector(".result-more, .participant-more details, .item-more");
    if (!details) return;
    details.open = !details.open;
    if (details.open) {
      const first = details.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    } else {
      details.querySelector("summary").focus();
    }
  }

  document.addEventListener("keydown", (event) => {
    const dialog = document.getElementById("shortcuts-dialog");
    if (dialog && dialog.open) return;
    const target = event.target;
    const inForm = editorForm().contains(target);
    // Ctrl+S / Cmd+S saves, wherever the focus is.
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.code === "KeyS") {
      event.preventDefault();
      save();
      return;
    }
    // Enter in a one-line field does not send the whole page.
    if (event.key === "Enter" && inForm && target.tagName === "INPUT" && ONE_LINE.has(target.type)) {
      event.preventDefault();
      return;
    }
    const typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "?" && !typing && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      openShortcuts();
      return;
    }
    if (!event.altKey || event.ctrlKey || event.metaKey) return;
    // event.code: Option+N on a Mac types "˜", but its code is still KeyN.
    const item = currentItem();
    const keys = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "outdent", ArrowRight: "indent" };
    if (keys[event.key] && item) {
      event.preventDefault();
      if (move(item, keys[event.key])) moved(item, target);
    } else if (event.code === "KeyN") {
      event.preventDefault();
      markDirty(addItem(item));
      changed();
    } else if (event.code === "KeyR" && item) {
      event.preventDefault();
      markDirty(addResult(item));
      changed();
    } else if (event.code === "KeyP" && item) {
      event.preventDefault();
      markDirty(addPresenter(item));
      changed();
    } else if (event.code === "KeyM") {
      event.preventDefault();
      toggleDetails();
    } else if (event.code === "KeyK") {
      event.preventDefault();
      openShortcuts();
    }
  });

  let shortcutsOpener = null;
  function openShortcuts() {
    const dialog = document.getElementById("shortcuts-dialog");
    if (!dialog || dialog.open) return;
    shortcutsOpener = document.activeElement;
    dialog.showModal();
    document.getElementById("shortcuts-close").focus();
  }
  document.getElementById("shortcuts-close").addEventListener("click", () => {
    document.getElementById("shortcuts-dialog").close();
  });
  document.getElementById("shortcuts-dialog").addEventListener("close", () => {
    if (shortcutsOpener && shortcutsOpener.focus) shortcutsOpener.focus();
  });
  document.addEventListener("click", (event) => {
    if (event.target.closest("#shortcuts-button")) openShortcuts();
  });

  // --- input -------------------------------------------------------------------------------

  function markDirty(node) {
    const item = node && node.closest ? node.closest(".agenda-item") : null;
    if (item) {
      item.classList.add("is-dirty");
      item.classList.remove("is-saved");
    }
  }

  document.addEventListener("input", (event) => {
    if (!editorForm().contains(event.target)) return;
    markDirty(event.target);
    if (event.target.name && (event.target.name.endsWith("-title") || event.target.name.endsWith("-number"))) {
      renumber();
    }
    changed();
  });

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (!editorForm().contains(target)) return;
    if (target.name && target.name.endsWith("-DELETE")) {
      const item = target.closest(".agenda-item");
      if (item && target.name === item.dataset.prefix + "-DELETE") {
        if (target.checked && !window.confirm(t.confirmDelete)) target.checked = false;
        item.classList.toggle("is-deleted", target.checked);
        renumber();
      }
    }
    if (target.name && target.name.endsWith("-name")) fillPerson(target);
    markDirty(target);
    changed();
  });

  /* A known person's organisation and function, filled in at once (and still editable). */
  function fillPerson(input) {
    const person = people.get(input.value.trim());
    const row = input.closest(".presenter-row, .participant-row");
    if (!person || !row) return;
    for (const name of ["organisation", "function"]) {
      const target = row.querySelector(`[name="${row.dataset.prefix}-${name}"]`);
      if (target && (!target.value.trim() || target.dataset.filled === "true")) {
        target.value = person[name] || "";
        target.dataset.filled = "true";
      }
    }
  }

  document.addEventListener("focusin", (event) => {
    if (event.target.closest && event.target.closest("#agenda-list")) {
      const item = currentItem();
      document.querySelectorAll("#outline li").forEach((li) => {
        li.classList.toggle("is-current", Boolean(item) && li.dataset.key === item.dataset.key);
      });
    }
  });

  // --- drag and drop -----------------------------------------------------------------------

  let dragged = null;
  let dropPlace = null;

  function clearDrop() {
    document.querySelectorAll(".drop-before, .drop-after, .drop-target").forEach((node) => {
      node.classList.remove("drop-before", "drop-after", "drop-target");
    });
  }

  document.addEventListener("dragstart", (event) => {
    const handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle) return;
    dragged = handle.closest(".agenda-item");
    dragged.classList.add("dragging");
    document.body.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.key);
  });

  document.addEventListener("dragover", (event) => {
    if (!dragged) return;
    clearDrop();
    const end = event.target.closest && event.target.closest("#drop-end");
    if (end) {
      event.preventDefault();
      end.classList.add("drop-target");
      dropPlace = { end: true };
      return;
    }
    const target = event.target.closest && event.target.closest(".agenda-item");
    if (!target || subtree(dragged).includes(target)) {
      dropPlace = null;
      return;
    }
    event.preventDefault();
    const box = target.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    target.classList.add(after ? "drop-after" : "drop-before");
    dropPlace = { target: target, after: after };
  });

  document.addEventListener("drop", (event) => {
    if (!dragged || !dropPlace) return;
    event.preventDefault();
    const group = subtree(dragged);
    let anchor;
    let newLevel;
    if (dropPlace.end) {
      anchor = null;
      newLevel = 0;
    } else if (dropPlace.after) {
      const targetGroup = subtree(dropPlace.target);
      anchor = targetGroup[targetGroup.length - 1].nextElementSibling;
      newLevel = level(dropPlace.target);
    } else {
      anchor = dropPlace.target;
      newLevel = level(dropPlace.target);
    }
    const shift = newLevel - level(dragged);
    group.forEach((node) => {
      agendaList().insertBefore(node, anchor);
      setLevel(node, Math.max(0, Math.min(MAX_LEVEL, level(node) + shift)));
    });
    moved(dragged, null);
  });

  document.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    document.body.classList.remove("is-dragging");
    clearDrop();
    dragged = null;
    dropPlace = null;
  });

  // --- saving in the background, keeping the place ----------------------------------------

  /* Where a field is, in terms that survive a save: the n-th item (new items get ids
     when saved), the n-th result or presenter in it, the field's name; elsewhere the
     participant's name or the field's own name. */
  function locate(el) {
    if (!el || !el.name || !editorForm().contains(el)) return null;
    const suffix = el.name.slice(el.name.lastIndexOf("-") + 1);
    const item = el.closest("#agenda-list > .agenda-item");
    if (item) {
      const live = items().filter((node) => !isDeleted(node));
      const row = el.closest(".result-row, .presenter-row");
      const kind = row ? (row.classList.contains("result-row") ? ".result-row" : ".presenter-row") : null;
      const rowIndex = row ? Array.from(item.querySelectorAll(kind)).indexOf(row) : -1;
      return { item: live.indexOf(item), kind: kind, row: rowIndex, suffix: suffix };
    }
    const participant = el.closest(".participant-row");
    if (participant) {
      const name = participant.querySelector('input[name$="-name"]');
      return { participant: name ? name.value.trim() : "", suffix: suffix, value: el.type === "radio" ? el.value : null };
    }
    return { name: el.name, value: el.type === "radio" ? el.value : null };
  }

  function resolve(place) {
    if (!place) return null;
    if (place.item !== undefined) {
      const item = items().filter((node) => !isDeleted(node))[place.item];
      if (!item) return null;
      let scope = item;
      if (place.kind) {
        scope = item.querySelectorAll(place.kind)[place.row];
        if (!scope) return item.querySelector("textarea");
      }
      return scope.querySelector(`[name$="-${place.suffix}"]:not([type=hidden])`);
    }
    if (place.participant !== undefined) {
      const row = Array.from(document.querySelectorAll("#participant-list .participant-row")).find((node) => {
        const name = node.querySelector('input[name$="-name"]');
        return name && name.value.trim() === place.participant;
      });
      if (!row) return null;
      const selector = place.value ? `[name$="-${place.suffix}"][value="${place.value}"]` : `[name$="-${place.suffix}"]:not([type=hidden])`;
      return row.querySelector(selector);
    }
    const selector = place.value ? `[name="${place.name}"][value="${place.value}"]` : `[name="${place.name}"]:not([type=hidden])`;
    return editorForm().querySelector(selector);
  }

  function fieldValues() {
    const values = new Map();
    editorForm().querySelectorAll("input, textarea, select").forEach((el) => {
      if (!el.name || el.type === "hidden" || el.type === "file") return;
      values.set(el, el.type === "checkbox" || el.type === "radio" ? el.checked : el.value);
    });
    return values;
  }

  function save(submitter) {
    const form = editorForm();
    if (saving) return;
    if (!window.fetch || !window.DOMParser) {
      form.submit();
      return;
    }
    saving = true;
    clearTimeout(timer);
    store({ submitted: true });
    const active = document.activeElement;
    const place = locate(active);
    const top = active && active.getBoundingClientRect ? active.getBoundingClientRect().top : null;
    const caret = active && typeof active.selectionStart === "number" ? [active.selectionStart, active.selectionEnd] : null;
    const dirtyIndexes = items()
      .filter((node) => !isDeleted(node))
      .map((node, index) => (node.classList.contains("is-dirty") ? index : -1))
      .filter((index) => index >= 0);
    const sent = fieldValues();
    const body = submitter ? new FormData(form, submitter) : new FormData(form);
    const bar = form.querySelector(".action-bar");
    bar.setAttribute("aria-busy", "true");
    // The last save's messages are stale now; the answer brings the new ones.
    document.querySelectorAll("main .messages").forEach((node) => node.remove());
    statusLine().textContent = t.saving;
    fetch(form.getAttribute("action") || window.location.pathname, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then((response) => response.text().then((html) => ({ response: response, html: html })))
      .then(({ response, html }) => {
        const doc = new DOMParser().parseFromString(html, "text/html");
        const fresh = doc.getElementById("editor-form");
        if (!fresh) {
          // Not the editor any more (the minutes were circulated meanwhile, or the
          // session ended): go where the server sent us; the copy in this browser stays.
          dirty = false;
          window.location.assign(response.url);
          return;
        }
        // Edits typed while the request was on its way, to be put back after the swap.
        const late = [];
        fieldValues().forEach((value, el) => {
          if (sent.has(el) && sent.get(el) !== value) late.push({ place: locate(el), value: value });
        });
        swap(doc, fresh);
        late.forEach(({ place: where, value }) => {
          const el = resolve(where);
          if (!el) return;
          if (el.type === "checkbox" || el.type === "radio") el.checked = value;
          else el.value = value;
          markDirty(el);
        });
        const ok = response.ok && new URL(response.url).searchParams.has("saved");
        if (ok) {
          const token = new URL(response.url).searchParams.get("saved");
          forgetCopy(token);
          const live = items().filter((node) => !isDeleted(node));
          dirtyIndexes.forEach((index) => live[index] && live[index].classList.add("is-saved"));
          dirty = late.length > 0;
          window.history.replaceState(null, "", window.location.pathname + window.location.hash);
        } else {
          dirty = true;
        }
        renumber();
        restorePlace(ok ? place : null, top, caret);
        if (late.length) changed();
      })
      .catch(() => {
        statusLine().textContent = t.saveFailed;
      })
      .finally(() => {
        saving = false;
        const currentBar = editorForm().querySelector(".action-bar");
        if (currentBar) currentBar.removeAttribute("aria-busy");
      });
  }

  /* Put the server's new page in place of the old one: form, alerts, messages. */
  function swap(doc, fresh) {
    editorForm().replaceWith(document.adoptNode(fresh));
    const alerts = doc.getElementById("editor-alerts");
    if (alerts) document.getElementById("editor-alerts").replaceWith(document.adoptNode(alerts));
    const oldMessages = document.querySelector("main .messages");
    const newMessages = doc.querySelector("main .messages");
    if (oldMessages) oldMessages.remove();
    prepare();
    if (!newMessages) return;
    // Success goes to the action bar's live status, so the page does not move under
    // the writer; anything else (a refused decision, a mail problem) stays an alert.
    const successes = Array.from(newMessages.querySelectorAll(".alert-success:not(.lasting)"));
    statusLine().textContent = successes.map((alert) => alert.textContent.trim()).join(" ");
    successes.forEach((alert) => alert.remove());
    if (newMessages.querySelector(".alert")) {
      const target = document.querySelector(".editor") || document.getElementById("content");
      target.parentNode.insertBefore(document.adoptNode(newMessages), target);
    }
  }

  function restorePlace(place, top, caret) {
    // After errors or a conflict: the first marked field, so the writer sees why.
    const invalid = editorForm().querySelector(".is-invalid, .has-error input, .has-error textarea, .has-error select");
    const el = place ? resolve(place) : invalid || resolve(place);
    const target = el || invalid;
    if (!target) return;
    const details = target.closest("details");
    if (details) details.open = true;
    target.focus({ preventScroll: true });
    if (caret && el === target && typeof target.setSelectionRange === "function") {
      try {
        target.setSelectionRange(caret[0], caret[1]);
      } catch (error) {
        // Inputs of type number or date have no selection.
      }
    }
    if (top !== null && el === target) {
      window.scrollBy(0, target.getBoundingClientRect().top - top);
    } else {
      target.scrollIntoView({ block: "center" });
    }
  }

  document.addEventListener("submit", (event) => {
    if (event.target !== editorForm()) return;
    event.preventDefault();
    save(event.submitter && event.submitter.name ? event.submitter : null);
  });

  // --- nothing lost: a copy of the input in this browser ---------------------------------

  /* Write the current values into the markup, so that the markup is the snapshot. */
  function snapshotHtml() {
    const form = editorForm();
    form.querySelectorAll("input, textarea, select").forEach((el) => {
      if (el.type === "file" || el.name === "csrfmiddlewaretoken") return;
      if (el.type === "checkbox" || el.type === "radio") {
        el.toggleAttribute("checked", el.checked);
      } else if (el.tagName === "TEXTAREA") {
        el.textContent = el.value;
      } else if (el.tagName === "SELECT") {
        Array.from(el.options).forEach((option) => option.toggleAttribute("selected", option.selected));
      } else {
        el.setAttribute("value", el.value);
      }
    });
    return form.innerHTML;
  }

  let timer = null;
  function changed() {
    dirty = true;
    clearTimeout(timer);
    timer = setTimeout(store, 800);
  }

  function store(extra) {
    try {
      const previous = JSON.parse(localStorage.getItem(storageKey) || "null");
      const entry = {
        html: snapshotHtml(),
        at: new Date().toISOString(),
        version: editorForm().dataset.version,
        token: (previous && previous.token) || tokenInput().value,
        ...extra,
      };
      localStorage.setItem(storageKey, JSON.stringify(entry));
      statusLine().textContent = t.saved.replace("{time}", new Date().toLocaleTimeString(lang));
    } catch (error) {
      statusLine().textContent = t.noStorage;
    }
  }

  function forgetCopy(token) {
    try {
      const entry = JSON.parse(localStorage.getItem(storageKey) || "null");
      if (entry && entry.token === token) localStorage.removeItem(storageKey);
    } catch (error) {
      // Nothing kept, nothing to forget.
    }
    tokenInput(true);
  }

  function tokenInput(renew) {
    const form = editorForm();
    let input = form.querySelector('input[name="autosave_token"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "autosave_token";
      form.appendChild(input);
    }
    if (!input.value || renew) input.value = Math.random().toString(36).slice(2, 12);
    return input;
  }

  function restore(entry) {
    const form = editorForm();
    const csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
    form.innerHTML = entry.html;
    form.querySelector('input[name="csrfmiddlewaretoken"]').value = csrf;
    tokenInput().value = entry.token;
    renumber();
    dirty = true;
  }

  function offerRestore() {
    let entry = null;
    try {
      entry = JSON.parse(localStorage.getItem(storageKey) || "null");
    } catch (error) {
      return;
    }
    if (!entry) return;
    const saved = new URLSearchParams(window.location.search).get("saved");
    if (saved && saved === entry.token) {
      // This very input was saved on the server: the copy is no longer needed.
      localStorage.removeItem(storageKey);
      return;
    }
    if (editorForm().dataset.saved !== "true") {
      // The page shows posted input again (errors or a conflict): that input is current.
      return;
    }
    const banner = document.getElementById("autosave-banner");
    document.getElementById("autosave-text").textContent =
      t.found + " " + new Date(entry.at).toLocaleString(lang) + ".";
    banner.classList.remove("d-none");
    document.getElementById("autosave-restore").addEventListener("click", () => {
      restore(entry);
      banner.classList.add("d-none");
      editorForm().querySelector("textarea, input:not([type=hidden])").focus();
    });
    document.getElementById("autosave-discard").addEventListener("click", () => {
      localStorage.removeItem(storageKey);
      banner.classList.add("d-none");
    });
  }

  window.addEventListener("beforeunload", (event) => {
    if (dirty && !saving) {
      store();
      event.preventDefault();
      event.returnValue = "";
    }
  });

  /* With this script, empty rows come from the "add" buttons instead. */
  function prepare() {
    const form = editorForm();
    agendaList().querySelectorAll(".agenda-item").forEach((item) => {
      const title = field(item, "title");
      if (item.dataset.key.startsWith("new-") && title && !title.value.trim() && !item.querySelector(".is-invalid, .invalid-feedback")) {
        item.remove();
      }
    });
    form.querySelectorAll(".loose-row").forEach((row) => {
      const typed = Array.from(row.querySelectorAll("textarea, input[type=text]")).some((el) => el.value.trim());
      if (!typed && !row.querySelector(".invalid-feedback")) row.remove();
    });
    form.querySelectorAll(".loose-rows").forEach((box) => {
      if (!box.querySelector(".loose-row")) box.remove();
      else box.classList.remove("no-js-only");
    });
    const rows = Array.from(form.querySelectorAll("#participant-list .participant-row"));
    const lastRow = rows[rows.length - 1];
    // The blank row for use without this script: new (no id), nothing typed, no error.
    // After a rejected save it comes back bound to empty input, without a status.
    const lastId = lastRow && lastRow.querySelector('input[name$="-id"]');
    if (lastRow && !(lastId && lastId.value) && !lastRow.querySelector('input[type="text"]').value.trim() && !lastRow.querySelector(".invalid-feedback")) {
      lastRow.remove();
    }
    form.querySelectorAll(".agenda-item").forEach((item) => {
      if (isDeleted(item)) item.classList.add("is-deleted");
    });
    tokenInput();
    renumber();
  }

  prepare();
  offerRestore();
})();
