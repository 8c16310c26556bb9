// supportbot console: live updates (Server-Sent Events) and sending chat messages without a reload.
// Every text from the server is written with textContent, never innerHTML, so it cannot run.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var page = document.body.dataset.page;
  var main = document.querySelector("main");
  var conversation = main && main.dataset.conversation;
  if (!csrf || page === "login") return;
  var inbox = window.SupportbotInbox || {format: function (iso) { return iso; }, waited: function () { return ""; },
                                         notify: function () { return false; }};

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error(data.message || ("HTTP " + r.status));
        return data;
      });
    });
  }

  function turnId(ev) { return ev.turn_id || ev.id; }

  function appendTurn(ev) {
    var list = document.getElementById("turns");
    if (!list || typeof ev.text !== "string") return;
    var id = turnId(ev);
    if (id && document.getElementById("turn-" + id)) return;
    var speaker = ev.speaker || ev.sender || "bot";
    var li = el("li", "turn turn-" + speaker.replace(/[^a-z]/g, ""));
    if (id) li.id = "turn-" + id;
    li.dataset.live = "1";
    var meta = el("div", "meta");
    meta.appendChild(el("span", "speaker", ev.agent_name || (ev.agent && ev.agent.name) || speaker));
    meta.appendChild(document.createTextNode(" "));
    var time = el("time", "", ev.ts ? inbox.format(ev.ts) : "now");
    if (ev.ts) time.setAttribute("datetime", ev.ts);
    meta.appendChild(time);
    li.appendChild(meta);
    li.appendChild(el("div", "text", ev.text));
    list.appendChild(li);
    li.scrollIntoView({block: "nearest"});
  }

  function renderQueue(data) {
    var list = document.getElementById("waiting-list");
    if (!list) return;
    list.textContent = "";
    (data.waiting || []).forEach(function (c) {
      var li = el("li");
      li.dataset.id = c.id;
      var head = el("div", "inbox-head");
      var a = el("a", "who", c.verified_user || "Visitor");
      a.href = "/console/conversations/" + encodeURIComponent(c.id);
      head.appendChild(a);
      if (c.verified_user) head.appendChild(el("span", "flag", "✓ verified"));
      var wait = el("span", "waited", inbox.waited(c.waiting_since));
      wait.dataset.since = c.waiting_since;
      wait.title = "waiting since " + c.waiting_since;
      head.appendChild(wait);
      li.appendChild(head);
      li.appendChild(el("div", "why muted", c.why || ""));
      li.appendChild(el("div", "last-message", c.last_message || c.preview || ""));
      var form = el("form", "inline");
      form.method = "post";
      form.action = "/console/conversations/" + encodeURIComponent(c.id) + "/claim";
      var token = el("input");
      token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
      form.appendChild(token);
      form.appendChild(el("button", "", "Take over"));
      li.appendChild(form);
      list.appendChild(li);
    });
    if (!(data.waiting || []).length) list.appendChild(el("li", "empty", "Nobody is waiting."));
    var count = document.getElementById("waiting-count");
    if (count) count.textContent = String((data.waiting || []).length);
    var online = document.getElementById("agents-online");
    if (online && data.agents_online !== undefined) online.textContent = String(data.agents_online);
  }

  function refreshQueue() {
    fetch("/api/console/queue", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        renderQueue(data);
        var badge = document.getElementById("queue-badge");
        if (badge) {
          badge.textContent = String((data.waiting || []).length);
          badge.hidden = !(data.waiting || []).length;
        }
      });
  }

  var url = "/api/console/events" + (conversation ? "?conversation=" + encodeURIComponent(conversation) : "");
  var source = new EventSource(url);
  source.addEventListener("logged_out", function () { window.location.href = "/console/login"; });
  if (conversation) {
    source.addEventListener("message", function (e) { appendTurn(JSON.parse(e.data)); });
    ["agent_joined", "agent_left", "closed"].forEach(function (type) {
      source.addEventListener(type, function () { window.location.reload(); });
    });
  } else {
    ["hello", "handoff", "agent_joined", "agent_left", "closed"].forEach(function (type) {
      source.addEventListener(type, refreshQueue);
    });
    source.addEventListener("handoff", function (e) { inbox.notify(JSON.parse(e.data)); });
  }
  window.addEventListener("beforeunload", function () { source.close(); });

  var composer = document.getElementById("composer");
  if (composer && conversation) {
    composer.addEventListener("submit", function (e) {
      e.preventDefault();
      var box = document.getElementById("composer-text");
      var error = document.getElementById("composer-error");
      var text = box.value.trim();
      if (!text) return;
      error.hidden = true;
      postJson("/api/console/conversations/" + encodeURIComponent(conversation) + "/messages", {text: text})
        .then(function (turn) { box.value = ""; appendTurn(turn); })
        .catch(function (err) { error.textContent = err.message; error.hidden = false; });
    });
  }
})();
