// supportbot console, agent assist: the suggested-replies panel of a conversation the agent has.
// Loads suggestions when the page opens and again whenever a customer message appears in the
// transcript (console.js appends live turns to #turns); a click puts a reply in the reply box,
// where it can be edited; sending reports which suggestion was used and the text that went out.
// Server text is written with textContent only.
(function () {
  "use strict";
  var panel = document.getElementById("assist");
  var box = document.getElementById("composer-text");
  var composer = document.getElementById("composer");
  var turns = document.getElementById("turns");
  if (!panel || !box || !composer) return;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var conversation = panel.dataset.conversation;
  var base = "/api/console/conversations/" + encodeURIComponent(conversation) + "/suggestions";
  var current = null;   // the batch on screen: {batch, replies}
  var chosen = null;    // the suggestion id put in the reply box
  var pending = null;   // a sent reply waiting for its turn id: {batch, chosen, final_text}
  var seq = 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function status(text) {
    var p = document.getElementById("assist-status");
    p.textContent = text || "";
    p.hidden = !text;
  }

  function render(data) {
    current = {batch: data.batch, replies: data.replies || []};
    chosen = null;
    var list = document.getElementById("assist-replies");
    list.textContent = "";
    current.replies.forEach(function (r) {
      var li = el("li");
      var button = el("button", "suggestion");
      button.type = "button";
      button.dataset.id = r.id;
      (r.parts || [r.text]).forEach(function (part) {
        if (typeof part === "string") button.appendChild(document.createTextNode(part));
        else button.appendChild(el("mark", "missing", "[" + part.missing + "]"));
      });
      button.title = r.missing && r.missing.length ? "fill in: " + r.missing.join(", ") : "insert";
      button.addEventListener("click", function () {
        box.value = r.text;
        chosen = r.id;
        box.focus();
        var mark = r.text.indexOf("[");
        if (mark >= 0) box.setSelectionRange(mark, r.text.indexOf("]", mark) + 1);
      });
      li.appendChild(button);
      li.appendChild(el("span", "muted", " " + Number(r.score).toFixed(2)));
      list.appendChild(li);
    });
    var passages = document.getElementById("assist-passages");
    passages.textContent = "";
    (data.passages || []).forEach(function (p) {
      var li = el("li");
      var title = /^https?:\/\//.test(p.url || "") ? el("a", "", p.title) : el("b", "", p.title);
      if (title.tagName === "A") { title.href = p.url; title.target = "_blank"; title.rel = "noopener noreferrer"; }
      li.appendChild(title);
      li.appendChild(el("div", "excerpt", p.text));
      passages.appendChild(li);
    });
    status(current.replies.length ? "" : ((data.notes || [])[0] || "No suggestions for this message."));
  }

  function refresh() {
    var mine = ++seq;
    status("Loading suggestions…");
    fetch(base, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json().then(function (d) { if (!r.ok) throw new Error(d.message || d.error || r.status); return d; }); })
      .then(function (data) { if (mine === seq) render(data); })
      .catch(function (err) { if (mine === seq) status("Suggestions unavailable: " + err.message); });
  }

  function report(turnId) {
    var body = {batch: pending.batch, chosen: pending.chosen, final_text: pending.final_text, turn_id: turnId};
    pending = null;
    fetch(base + "/resolve", {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf}
    });
  }

  composer.addEventListener("submit", function () {
    if (!current || !current.replies.length) return;
    pending = {batch: current.batch, chosen: chosen, final_text: box.value.trim()};
  });

  if (turns && window.MutationObserver) {
    new MutationObserver(function (records) {
      records.forEach(function (rec) {
        rec.addedNodes.forEach(function (node) {
          if (!node.classList) return;
          if (node.classList.contains("turn-agent") && pending) {
            report(node.id ? Number(node.id.replace("turn-", "")) : null);
          } else if (node.classList.contains("turn-customer")) {
            refresh();
          }
        });
      });
    }).observe(turns, {childList: true});
  }
  refresh();
})();
