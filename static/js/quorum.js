/* The quorum while the minutes are written: the mirror of protokolle/quorum.py (read
   its docstring for who counts). Both are tested against tests/data/quorum.json.
   In the editor it keeps the attendance's indicator and the checks beside each result
   current as the writer clicks; the server renders the same state without it. */
(function (root) {
  "use strict";

  const GUEST = "guest";
  const PRESENT = "present";
  const MEMBER_STATUSES = new Set(["present", "excused", "absent"]);

  function normal(name) {
    return String(name || "").trim().replace(/\s+/g, " ").toLowerCase();
  }

  function met(rule, present, total) {
    if (rule.kind === "fraction" && rule.numerator && rule.denominator) {
      return present * rule.denominator >= total * rule.numerator;
    }
    if (rule.kind === "minimum" && rule.minimum) return present >= rule.minimum;
    return present * 2 > total;
  }

  function text(value) {
    return String(value || "").trim();
  }

  /* Map seat → [participant]: who holds each voting seat (members and stand-ins). */
  function seats(participants) {
    const rows = participants.filter((p) => text(p.name));
    const votingMembers = new Set(
      rows
        .filter((p) => p.voting === true && MEMBER_STATUSES.has(p.status) && !text(p.substitute_for))
        .map((p) => normal(p.name))
    );
    const result = new Map();
    for (const p of rows) {
      const represented = text(p.substitute_for);
      let key;
      if (represented) {
        if (p.voting === false || !p.status) continue;
        if (p.voting !== true && !votingMembers.has(normal(represented))) continue;
        key = normal(represented);
      } else if (p.voting === true && MEMBER_STATUSES.has(p.status)) {
        key = normal(p.name);
      } else {
        continue;
      }
      if (!result.has(key)) result.set(key, []);
      result.get(key).push(p);
    }
    return result;
  }

  /* Times are "HH:MM" strings (or empty): they compare as text. */
  function there(p, moment) {
    if (p.status !== PRESENT && p.status !== GUEST) return false;
    if (!moment) return true;
    return !(p.arrived && p.arrived > moment) && !(p.left && p.left <= moment);
  }

  function count(participants, rule, moment, excluded) {
    const seated = seats(participants);
    if (!seated.size) return null;
    const out = new Set((excluded || []).map(normal));
    let present = 0;
    for (const [key, holders] of seated) {
      if (out.has(key)) continue;
      if (holders.some((p) => there(p, moment) && !out.has(normal(p.name)))) present += 1;
    }
    return { present: present, total: seated.size, quorate: met(rule, present, seated.size) };
  }

  function matchParticipant(name, participants) {
    const wanted = normal(name);
    if (!wanted) return null;
    const named = participants.filter((p) => p.name).map((p) => [normal(p.name), p]);
    for (const [known, p] of named) if (known === wanted) return p;
    const close = named
      .filter(([known]) => known.endsWith(" " + wanted) || wanted.endsWith(" " + known))
      .map(([, p]) => p);
    return close.length === 1 ? close[0] : null;
  }

  function recusals(item, participants) {
    const found = [];
    for (const entry of item.conflicts_of_interest || []) {
      const name = text(entry.name);
      if (!name) continue;
      const participant = matchParticipant(name, participants);
      found.push([participant ? text(participant.name) : name, text(entry.reason)]);
    }
    return found;
  }

  /* {start: count, items: {key: {count, differs, recusals}}} for items in reading order. */
  function forMeeting(participants, items, rule, start) {
    const atStart = count(participants, rule, start || null, []);
    const perItem = {};
    let moment = start || null;
    for (const item of items) {
      moment = item.start || moment;
      const excludedRows = recusals(item, participants);
      const itemCount = atStart ? count(participants, rule, moment, excludedRows.map((r) => r[0])) : null;
      const differs = Boolean(
        itemCount && atStart && (itemCount.present !== atStart.present || itemCount.quorate !== atStart.quorate)
      );
      perItem[item.key] = { count: itemCount, differs: differs, recusals: excludedRows };
    }
    return { start: atStart, items: perItem };
  }

  const UNANIMOUS = /(^|[^\p{L}])(?<!nicht )einstimmig/iu;
  const ABSTENTION = /enthaltung/i;

  /* [[code, params]]: what looks wrong with a result's vote, given the item's count. */
  function voteProblems(kind, yes, no, abstain, voteText, itemCount) {
    const problems = [];
    const votes = (yes || 0) + (no || 0) + (abstain || 0);
    if (itemCount && votes > itemCount.present) {
      problems.push(["too_many_votes", { votes: votes, present: itemCount.present }]);
    }
    if (kind === "decision" && itemCount && !itemCount.quorate) {
      problems.push(["decision_not_quorate", { present: itemCount.present, total: itemCount.total }]);
    }
    if (voteText && UNANIMOUS.test(voteText)) {
      if ((no || 0) > 0 || ((abstain || 0) > 0 && !ABSTENTION.test(voteText))) {
        problems.push(["not_unanimous", {}]);
      }
    }
    return problems;
  }

  /* One line per member: "Name" or "Name: reason" (protokolle.forms.ConflictsOfInterestField). */
  function parseConflicts(value) {
    const entries = [];
    for (const line of String(value || "").split(/\r?\n/)) {
      const trimmed = line.trim();
      if (!trimmed) continue;
      const colon = trimmed.indexOf(":");
      const name = (colon < 0 ? trimmed : trimmed.slice(0, colon)).trim();
      const reason = colon < 0 ? "" : trimmed.slice(colon + 1).trim();
      if (name) entries.push({ name: name, reason: reason || null });
    }
    return entries;
  }

  root.WerkstattQuorum = {
    count: count,
    forMeeting: forMeeting,
    voteProblems: voteProblems,
    parseConflicts: parseConflicts,
  };

  // --- the editor page -------------------------------------------------------------------

  if (typeof document === "undefined") return;

  function fill(message, params) {
    return String(message || "").replace(/%\((\w+)\)s/g, (all, name) => (name in params ? String(params[name]) : all));
  }

  function named(row, prefix, suffix) {
    return row.querySelector(`[name="${prefix}-${suffix}"]`);
  }

  function value(row, prefix, suffix) {
    const input = named(row, prefix, suffix);
    return input ? input.value : "";
  }

  function deleted(row, prefix) {
    const box = named(row, prefix, "DELETE");
    return Boolean(box && box.checked);
  }

  function number(row, prefix, suffix) {
    const raw = value(row, prefix, suffix).trim();
    if (!/^\d+$/.test(raw)) return null;
    return parseInt(raw, 10);
  }

  function readParticipants() {
    const list = [];
    document.querySelectorAll("#participant-list .participant-row").forEach((row) => {
      const prefix = row.dataset.prefix;
      if (!prefix || deleted(row, prefix)) return;
      const checked = row.querySelector(`input[type="radio"][name="${prefix}-status"]:checked`);
      const voting = value(row, prefix, "voting");
      list.push({
        name: value(row, prefix, "name"),
        status: checked ? checked.value : "",
        voting: voting === "true" ? true : voting === "false" ? false : null,
        substitute_for: value(row, prefix, "substitute_for"),
        arrived: value(row, prefix, "arrived"),
        left: value(row, prefix, "left"),
      });
    });
    return list;
  }

  function readItems() {
    const list = [];
    document.querySelectorAll("#agenda-list > .agenda-item").forEach((item) => {
      const prefix = item.dataset.prefix;
      if (!prefix || deleted(item, prefix)) return;
      list.push({
        key: item.dataset.key,
        node: item,
        start: value(item, prefix, "start"),
        conflicts_of_interest: parseConflicts(value(item, prefix, "conflicts_of_interest")),
      });
    });
    return list;
  }

  function setText(node, content) {
    if (node && node.textContent !== content) node.textContent = content;
  }

  function renderCheck(box, messages, kind, itemCount, problems) {
    const parts = [];
    if (kind === "decision" && itemCount) {
      const state = document.createElement("span");
      state.className = "quorum-state" + (itemCount.quorate ? "" : " is-not-quorate");
      state.textContent = fill(itemCount.quorate ? messages.msgItemQuorate : messages.msgItemNotQuorate, itemCount);
      parts.push(state);
    }
    for (const [code, params] of problems) {
      const warning = document.createElement("span");
      warning.className = "quorum-warning";
      const mark = document.createElement("span");
      mark.setAttribute("aria-hidden", "true");
      mark.textContent = "⚠ ";
      warning.append(mark, `${messages.msgCheck} ${fill(messages[codeKey(code)], params)}`);
      parts.push(warning);
    }
    const html = parts.map((part) => part.outerHTML).join("");
    if (box.innerHTML !== html) box.replaceChildren(...parts);
  }

  function codeKey(code) {
    return "msg" + code.split("_").map((word) => word[0].toUpperCase() + word.slice(1)).join("");
  }

  function update() {
    const indicator = document.getElementById("quorum-indicator");
    if (!indicator) return;
    const messages = indicator.dataset;
    const rule = {
      kind: messages.rule,
      numerator: parseInt(messages.numerator, 10) || null,
      denominator: parseInt(messages.denominator, 10) || null,
      minimum: parseInt(messages.minimum, 10) || null,
    };
    const start = document.querySelector('[name="meeting-start"]');
    const items = readItems();
    const participants = readParticipants();
    const state = forMeeting(participants, items, rule, start ? start.value : "");
    // A voting member left unmarked is in neither number: say so, so that "1 of 1"
    // is not written where the body has two voting members.
    const unmarked = participants
      .filter((p) => p.voting === true && !p.status && !text(p.substitute_for) && text(p.name))
      .map((p) => text(p.name));
    const note = document.getElementById("quorum-unmarked");
    if (note) {
      setText(note, unmarked.length ? fill(messages.msgUnmarked, { names: unmarked.join(", ") }) : "");
      note.hidden = !unmarked.length;
    }
    const atStart = state.start;
    setText(
      document.getElementById("quorum-state"),
      atStart ? fill(atStart.quorate ? messages.msgQuorate : messages.msgNotQuorate, atStart) : messages.msgUnknown
    );
    indicator.classList.toggle("is-not-quorate", Boolean(atStart && !atStart.quorate));
    for (const item of items) {
      const itemCount = (state.items[item.key] || {}).count || null;
      item.node.querySelectorAll(".result-row").forEach((row) => {
        const box = row.querySelector("[data-quorum-check]");
        const prefix = row.dataset.prefix;
        if (!box || !prefix) return;
        const kind = value(row, prefix, "kind");
        const problems = voteProblems(
          kind,
          number(row, prefix, "vote_yes"),
          number(row, prefix, "vote_no"),
          number(row, prefix, "vote_abstain"),
          value(row, prefix, "vote_text"),
          itemCount
        );
        renderCheck(box, messages, kind, itemCount, problems);
      });
    }
  }

  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(() => {
      pending = false;
      update();
    });
  }

  // Clicks too: "All present" and the "now" buttons set fields without an input event.
  ["input", "change", "click"].forEach((type) => document.addEventListener(type, schedule));
  document.addEventListener("DOMContentLoaded", schedule);
  schedule();
})(typeof globalThis !== "undefined" ? globalThis : this);
