/* The minute-taker's editor: add rows, move and indent agenda items (buttons,
   keyboard, drag and drop), number them at once, and keep a copy of the input in
   this browser so that a closed tab or a dropped connection loses nothing.
   Without this script the page still saves: order and level are plain fields. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  const form = document.getElementById("editor-form");
  if (!form) return;
  // The form's markup is replaced when input is restored: always look the list up.
  const agendaList = () => document.getElementById("agenda-list");
  const MAX_LEVEL = 3;
  const storageKey = "werkstatt-editor-" + form.dataset.meeting;
  const statusLine = document.getElementById("autosave-status");
  let dirty = false;

  const t = {
    saved: form.dataset.msgLocalSaved || "Input kept in this browser at",
    noStorage: form.dataset.msgNoStorage || "This browser cannot keep a copy of the input.",
    found: form.dataset.msgFound || "This browser kept input that was not saved, from",
    confirmDelete: form.dataset.msgConfirmDelete || "Delete this item with its results and sub-items?",
  };

  // --- rows ------------------------------------------------------------------------------

  function totalInput(prefix) {
    return form.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
  }

  function cloneTemplate(id, prefix, replacements) {
    const total = totalInput(prefix);
    const index = parseInt(total.value, 10);
    let html = document.getElementById(id).innerHTML.replaceAll("__prefix__", String(index));
    for (const [from, to] of Object.entries(replacements || {})) html = html.replaceAll(from, to);
    const holder = document.createElement("template");
    holder.innerHTML = html.trim();
    total.value = String(index + 1);
    return { node: holder.content.firstElementChild, index: index };
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
  }

  function addPresenter(item) {
    const { node } = cloneTemplate("tpl-presenter", "presenters");
    setBoth(node, "item_key", item.dataset.key);
    item.querySelector(".presenter-list").appendChild(node);
    node.querySelector('input[type="text"]').focus();
  }

  function addItem() {
    const total = parseInt(totalInput("items").value, 10);
    const { node } = cloneTemplate("tpl-item", "items", { __key__: "new-" + total });
    agendaList().appendChild(node);
    renumber();
    node.querySelector("textarea").focus();
  }

  function addParticipant() {
    const { node } = cloneTemplate("tpl-participant", "participants");
    node.querySelectorAll('input[type="radio"][value="guest"]').forEach((r) => (r.checked = true));
    setBoth(node, "status", "guest");
    document.getElementById("participant-list").appendChild(node);
    node.querySelector('input[type="text"]').focus();
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
    return box && box.checked;
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

  /* Numbers as the server prints them: the parent's number and the place among siblings. */
  function renumber() {
    const counters = [];
    const stack = [];
    let previous = -1;
    items().forEach((item, index) => {
      let lvl = Math.min(level(item), previous + 1);
      if (lvl !== level(item)) setLevel(item, lvl);
      const order = field(item, "order");
      if (order) order.value = String(index);
      if (isDeleted(item)) {
        item.querySelector(".item-number").textContent = "–";
        return;
      }
      previous = lvl;
      stack.length = lvl;
      counters.length = lvl + 1;
      counters[lvl] = (counters[lvl] || 0) + 1;
      const explicit = field(item, "number");
      const prefix = stack.length ? stack[stack.length - 1] : "";
      const number = (explicit && explicit.value.trim()) || (prefix ? prefix + "." + counters[lvl] : String(counters[lvl]));
      stack.push(number);
      item.querySelector(".item-number").textContent = number;
    });
  }

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

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const item = button.closest(".agenda-item");
    if (button.dataset.move && item) {
      if (move(item, button.dataset.move)) {
        renumber();
        changed();
        button.focus();
        announce(item);
      }
    } else if (button.dataset.add === "result" && item) {
      addResult(item);
      changed();
    } else if (button.dataset.add === "presenter" && item) {
      addPresenter(item);
      changed();
    }
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-add]");
    if (!button) return;
    if (button.dataset.add === "item") {
      addItem();
      changed();
    } else if (button.dataset.add === "participant") {
      addParticipant();
      changed();
    }
  });

  /* Keyboard: Alt+Arrow keys move, indent and outdent the item that has the focus. */
  form.addEventListener("keydown", (event) => {
    if (!event.altKey) return;
    const keys = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "outdent", ArrowRight: "indent" };
    const direction = keys[event.key];
    const item = event.target.closest(".agenda-item");
    if (!direction || !item) return;
    event.preventDefault();
    if (move(item, direction)) {
      renumber();
      changed();
      event.target.focus();
      announce(item);
    }
  });

  function announce(item) {
    const title = field(item, "title");
    statusLine.textContent =
      item.querySelector(".item-number").textContent + " " + (title ? title.value.slice(0, 60) : "");
  }

  form.addEventListener("change", (event) => {
    if (event.target.name && event.target.name.endsWith("-DELETE")) {
      const item = event.target.closest(".agenda-item");
      if (item && event.target.name === item.dataset.prefix + "-DELETE") {
        if (event.target.checked && !window.confirm(t.confirmDelete)) {
          event.target.checked = false;
        }
        item.classList.toggle("opacity-50", event.target.checked);
        renumber();
      }
    }
    if (event.target.name && event.target.name.endsWith("-number")) renumber();
  });

  // --- drag and drop ---------------------------------------------------------------------

  let dragged = null;
  form.addEventListener("dragstart", (event) => {
    const handle = event.target.closest(".drag-handle");
    if (!handle) return;
    dragged = handle.closest(".agenda-item");
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.key);
  });
  form.addEventListener("dragover", (event) => {
    const target = event.target.closest(".agenda-item");
    if (!dragged || !target || subtree(dragged).includes(target)) return;
    event.preventDefault();
    form.querySelectorAll(".drop-target").forEach((node) => node.classList.remove("drop-target"));
    target.classList.add("drop-target");
  });
  form.addEventListener("drop", (event) => {
    const target = event.target.closest(".agenda-item");
    if (!dragged || !target || subtree(dragged).includes(target)) return;
    event.preventDefault();
    const group = subtree(dragged);
    const shift = level(target) - level(dragged);
    group.forEach((node) => {
      agendaList().insertBefore(node, target);
      setLevel(node, Math.max(0, Math.min(MAX_LEVEL, level(node) + shift)));
    });
    renumber();
    changed();
  });
  form.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    form.querySelectorAll(".drop-target").forEach((node) => node.classList.remove("drop-target"));
    dragged = null;
  });

  // --- nothing lost: a copy of the input in this browser ---------------------------------

  /* Write the current values into the markup, so that the markup is the snapshot. */
  function snapshotHtml() {
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
        version: form.dataset.version,
        token: (previous && previous.token) || tokenInput().value,
        ...extra,
      };
      localStorage.setItem(storageKey, JSON.stringify(entry));
      statusLine.textContent = t.saved + " " + new Date().toLocaleTimeString();
    } catch (error) {
      statusLine.textContent = t.noStorage;
    }
  }

  function tokenInput() {
    let input = form.querySelector('input[name="autosave_token"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "autosave_token";
      input.value = Math.random().toString(36).slice(2, 12);
      form.appendChild(input);
    }
    return input;
  }

  function restore(entry) {
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
    if (form.dataset.saved !== "true") {
      // The page shows posted input again (errors or a conflict): that input is current.
      return;
    }
    const banner = document.getElementById("autosave-banner");
    document.getElementById("autosave-text").textContent =
      t.found + " " + new Date(entry.at).toLocaleString() + ".";
    banner.classList.remove("d-none");
    document.getElementById("autosave-restore").addEventListener("click", () => {
      restore(entry);
      banner.classList.add("d-none");
      form.querySelector("textarea, input:not([type=hidden])").focus();
    });
    document.getElementById("autosave-discard").addEventListener("click", () => {
      localStorage.removeItem(storageKey);
      banner.classList.add("d-none");
    });
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", () => {
    clearTimeout(timer);
    store({ submitted: true });
    dirty = false;
  });
  window.addEventListener("beforeunload", (event) => {
    if (dirty) {
      store();
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // With this script, empty rows come from the "add" buttons instead.
  agendaList().querySelectorAll(".agenda-item").forEach((item) => {
    if (item.dataset.key.startsWith("new-") && !field(item, "title").value.trim() && !item.querySelector(".is-invalid, .invalid-feedback")) {
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
  const participantRows = Array.from(document.querySelectorAll("#participant-list .participant-row"));
  const lastRow = participantRows[participantRows.length - 1];
  if (lastRow && !lastRow.querySelector('input[type="text"]').value.trim()) lastRow.remove();

  tokenInput();
  renumber();
  offerRestore();
})();
