/*
 * supportbot chat widget. Embed with one tag, no build step:
 *   <script src="https://HOST/widget.js" data-title="Support" data-color="#0b5fff" defer></script>
 * Its own texts come in English and Chinese: `data-lang` ("en" / "zh"), else the page's <html lang>, else
 * detected (the browser's language, then the customer's messages: Chinese characters switch it to Chinese).
 * Shadow DOM keeps the host page's CSS out; every text is rendered with textContent (never as HTML);
 * the session token, unsent messages and the open/closed state live in localStorage, so a reload or a
 * new tab continues the conversation and messages typed offline are sent once the connection is back.
 * Protocol: docs/websocket-protocol.md.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!script || window.__supportbotWidget) return;
  window.__supportbotWidget = true;

  var base = new URL(script.src, location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host +
    base.pathname.replace(/widget\.js$/, "") + "ws";
  var title = script.getAttribute("data-title") || "Support";
  var color = script.getAttribute("data-color") || "";
  // a logged-in customer: the host site's server signs the user id (docs/security.md, "Identity")
  var userId = script.getAttribute("data-user-id"), userHash = script.getAttribute("data-user-hash");
  if (!/^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$/.test(color)) color = "#0b5fff";
  var KEY = "supportbot:" + base.host;

  // ---- the widget's own texts, in the customer's language -----------------------------------------
  var TEXTS = {
    en: { open: "Open chat: ", close: "Close chat: ", person: "Talk to a person", end: "End chat", closeX: "Close chat",
          log: "Conversation", typing: "The assistant is typing\u2026", rate: "Rate this conversation",
          contact: "Leave your email", email: "Your email address", sendEmail: "Send email", input: "Type your message",
          placeholder: "Type your message\u2026", send: "Send", agent: "Agent", assistant: "Assistant: ",
          sources: "Sources", source: "source", quick: "Suggested replies", helpfulQ: "Was this helpful?",
          helpful: "Helpful", notHelpful: "Not helpful", satisfied: "How satisfied are you?", of5: " of 5",
          offline: "You're offline; your message will be sent when the connection is back.",
          lost: "Connection lost; reconnecting\u2026", waiting: "Waiting for a person to join\u2026",
          chatting: "You're chatting with ", anAgent: "an agent", thanks: "Thank you for your feedback!",
          notSent: " (not sent)", reconnecting: "Reconnecting\u2026 try again in a moment." },
    zh: { open: "打开聊天：", close: "关闭聊天：", person: "转人工", end: "结束对话", closeX: "关闭聊天",
          log: "对话", typing: "助手正在输入\u2026", rate: "为本次对话评分",
          contact: "留下您的邮箱", email: "您的邮箱地址", sendEmail: "发送邮箱", input: "输入您的消息",
          placeholder: "输入您的消息\u2026", send: "发送", agent: "客服", assistant: "助手：",
          sources: "来源", source: "来源", quick: "推荐回复", helpfulQ: "这个回答有帮助吗？",
          helpful: "有帮助", notHelpful: "没有帮助", satisfied: "您对本次服务满意吗？", of5: "（满分 5 分）",
          offline: "您目前处于离线状态，连接恢复后将发送您的消息。",
          lost: "连接已断开，正在重新连接\u2026", waiting: "正在等待客服人员加入\u2026",
          chatting: "您正在与以下客服对话：", anAgent: "客服人员", thanks: "感谢您的反馈！",
          notSent: "（未发送）", reconnecting: "正在重新连接\u2026请稍后再试。" }
  };
  function langOf(code) { code = String(code || "").toLowerCase(); return /^zh/.test(code) ? "zh" : /^en/.test(code) ? "en" : null; }
  var fixedLang = langOf(script.getAttribute("data-lang")) || langOf(document.documentElement.getAttribute("lang"));
  var HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/, LATIN = /[A-Za-z]{3,}/;
  function t(key) { return (TEXTS[lang] || TEXTS.en)[key]; }

  // ---- persisted state --------------------------------------------------------------------------
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  var saved = load();
  var state = { token: saved.token || null, outbox: saved.outbox || [], open: !!saved.open, rated: saved.rated || [],
                lang: langOf(saved.lang) };
  var lang = fixedLang || state.lang || langOf(navigator.language) || "en";
  function persist() {
    // the answer to a secret question (a one-time code) is kept in memory only, never in localStorage
    var kept = { token: state.token, open: state.open, rated: state.rated, lang: state.lang,
                 outbox: state.outbox.filter(function (m) { return !m.secret; }) };
    try { localStorage.setItem(KEY, JSON.stringify(kept)); } catch (e) { /* private mode: memory only */ }
  }
  // what the transcript shows for a message: a secret answer as its placeholder, as the service stores it
  function shown(m) { return m.secret ? "[" + String(m.secret).toUpperCase() + "]" : m.text; }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  // ---- DOM --------------------------------------------------------------------------------------
  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif}",
    ".launcher{position:fixed;right:16px;bottom:16px;width:56px;height:56px;border-radius:50%;border:0;",
    "background:var(--sb);color:#fff;font-size:26px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000}",
    ".panel{position:fixed;right:16px;bottom:84px;width:360px;max-width:calc(100vw - 16px);height:min(560px,calc(100vh - 100px));",
    "display:flex;flex-direction:column;background:#fff;color:#1b1b1f;border-radius:12px;overflow:hidden;",
    "box-shadow:0 8px 30px rgba(0,0,0,.3);z-index:2147483000;font-size:14px}",
    ".panel[hidden]{display:none}",
    "@media (max-width:400px){.panel{right:8px;left:8px;width:auto;bottom:80px}}",
    "header{background:var(--sb);color:#fff;padding:10px 12px;display:flex;gap:6px;align-items:center;flex-wrap:wrap}",
    "header h2{font-size:16px;margin:0;flex:1 1 auto}",
    "header button{background:rgba(255,255,255,.18);color:#fff;border:0;border-radius:6px;padding:5px 8px;cursor:pointer;font-size:12px}",
    "button:focus-visible,textarea:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #ffbf47;outline-offset:1px}",
    ".status{font-size:12px;padding:4px 12px;background:#fff4ce;color:#5b4600}",
    ".status:empty{display:none}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}",
    ".msg{max-width:85%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word;line-height:1.35}",
    ".msg.customer{align-self:flex-end;background:var(--sb);color:#fff}",
    ".msg.customer a{color:#fff}",
    ".msg.bot,.msg.agent{align-self:flex-start;background:#f0f1f5}",
    ".msg.agent{border-left:3px solid var(--sb)}",
    ".msg.system{align-self:center;background:transparent;color:#555;font-size:12px;text-align:center}",
    ".msg.pending{opacity:.6}.msg.failed{outline:2px solid #c62828}",
    ".name{display:block;font-size:11px;font-weight:600;color:#444;margin-bottom:2px}",
    ".quick{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}",
    ".quick button,.csat button{border:1px solid var(--sb);background:#fff;color:var(--sb);border-radius:14px;padding:4px 10px;cursor:pointer}",
    ".quick button:disabled{opacity:.5;cursor:default}",
    ".sources{margin:6px 0 0;padding-left:16px;font-size:12px}",
    ".fb{display:flex;gap:4px;margin-top:4px}.fb button{border:0;background:none;cursor:pointer;font-size:14px;opacity:.55}",
    ".fb button[aria-pressed=true]{opacity:1}",
    ".typing{padding:0 12px 6px;font-size:12px;color:#666}",
    ".csat,.contact{padding:8px 12px;border-top:1px solid #eee;display:flex;gap:6px;align-items:center;flex-wrap:wrap}",
    ".csat[hidden],.contact[hidden],.typing[hidden]{display:none}",
    "form.composer{display:flex;gap:6px;padding:8px;border-top:1px solid #eee}",
    "textarea{flex:1;resize:none;height:40px;border:1px solid #ccc;border-radius:8px;padding:8px;font-size:14px}",
    ".send{background:var(--sb);color:#fff;border:0;border-radius:8px;padding:0 14px;cursor:pointer}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
  ].join("");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = String(text);
    return node;
  }

  // an autonomous custom element: host-page rules such as `div { display: none }` cannot reach it
  var host = el("supportbot-widget", { id: "supportbot-widget" });
  var root = host.attachShadow({ mode: "open" });
  var style = el("style");
  style.textContent = CSS;
  host.style.setProperty("--sb", color);
  var launcher = el("button", { class: "launcher", type: "button", "aria-label": t("open") + title,
    "aria-expanded": "false", "aria-controls": "sb-panel" }, "\uD83D\uDCAC");
  var panel = el("section", { class: "panel", id: "sb-panel", role: "dialog", "aria-label": title });
  panel.hidden = true;
  var header = el("header");
  var personBtn = el("button", { type: "button", class: "person" });
  var endBtn = el("button", { type: "button", class: "end" });
  var closeBtn = el("button", { type: "button", class: "close" }, "\u00D7");
  header.append(el("h2", {}, title), personBtn, endBtn, closeBtn);
  var status = el("div", { class: "status", role: "status", "aria-live": "polite" });
  var log = el("div", { class: "log", role: "log", "aria-live": "polite" });
  var typing = el("div", { class: "typing", "aria-live": "polite" });
  typing.hidden = true;
  var csat = el("div", { class: "csat", role: "group" });
  csat.hidden = true;
  var contact = el("form", { class: "contact" });
  contact.hidden = true;
  var email = el("input", { type: "email", placeholder: "you@example.com" });
  var emailBtn = el("button", { type: "submit", class: "send" });
  contact.append(email, emailBtn);
  var form = el("form", { class: "composer" });
  var input = el("textarea", { maxlength: "4000" });
  var sendBtn = el("button", { type: "submit", class: "send" });
  form.append(input, sendBtn);
  panel.append(header, status, log, typing, csat, contact, form);
  function applyTexts() {
    panel.setAttribute("lang", lang);
    launcher.setAttribute("aria-label", (panel.hidden ? t("open") : t("close")) + title);
    personBtn.textContent = t("person"); endBtn.textContent = t("end"); closeBtn.setAttribute("aria-label", t("closeX"));
    log.setAttribute("aria-label", t("log")); typing.textContent = t("typing"); csat.setAttribute("aria-label", t("rate"));
    contact.setAttribute("aria-label", t("contact")); email.setAttribute("aria-label", t("email"));
    emailBtn.textContent = t("sendEmail"); input.setAttribute("aria-label", t("input"));
    input.setAttribute("placeholder", t("placeholder")); sendBtn.textContent = t("send");
  }
  applyTexts();
  // no data-lang or page language: the customer's own words decide (Chinese characters, or English words only)
  function detectFrom(text) {
    if (fixedLang) return;
    var found = HAN.test(text) ? "zh" : (LATIN.test(text) ? "en" : null);
    if (!found || found === lang) return;
    lang = state.lang = found; persist(); applyTexts();
  }
  root.append(style, launcher, panel);

  // ---- rendering: text only (textContent and http(s) links), never parsed as HTML -----------------
  var byTurn = {}, byClient = {}, convId = null, lastError = "";
  var URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

  function renderText(node, text) {
    var last = 0, m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text))) {
      node.append(document.createTextNode(text.slice(last, m.index)));
      node.append(el("a", { href: m[0], target: "_blank", rel: "noopener noreferrer" }, m[0]));
      last = m.index + m[0].length;
    }
    node.append(document.createTextNode(text.slice(last)));
  }
  function safeHref(url) { return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null; }

  function render(turn) {
    if (turn.turn_id != null && byTurn[turn.turn_id]) return byTurn[turn.turn_id];
    if (turn.speaker === "customer" && turn.client_msg_id && byClient[turn.client_msg_id]) {
      return markDelivered(turn.client_msg_id, turn.turn_id);
    }
    var speaker = ["customer", "bot", "agent", "system"].indexOf(turn.speaker) >= 0 ? turn.speaker : "system";
    if (speaker === "bot" || speaker === "customer") askSecret(speaker === "bot" ? turn.secret_input : null);
    var node = el("div", { class: "msg " + speaker });
    if (speaker === "agent") node.append(el("span", { class: "name" }, turn.agent_name || t("agent")));
    if (speaker === "bot") node.append(el("span", { class: "sr" }, t("assistant")));
    var body = el("span", { class: "text" });
    renderText(body, String(turn.text || ""));
    node.append(body);
    if (turn.buttons && turn.buttons.length) node.append(quickReplies(turn.buttons));
    if (turn.sources && turn.sources.length) {
      var list = el("ul", { class: "sources", "aria-label": t("sources") });
      turn.sources.forEach(function (s) {
        var li = el("li"), href = safeHref(s.url);
        li.append(href ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, s.title || href)
                       : document.createTextNode(s.title || t("source")));
        list.append(li);
      });
      node.append(list);
    }
    if (speaker === "bot" && turn.turn_id != null && !turn.notice) node.append(feedback(turn));
    if (turn.turn_id != null) { node.setAttribute("data-turn-id", turn.turn_id); byTurn[turn.turn_id] = node; }
    if (turn.client_msg_id) byClient[turn.client_msg_id] = node;
    log.append(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }
  var secretAsked = null;  // the bot's latest question asks for a secret (`secret_input`): mask the answer
  function askSecret(kind) {
    secretAsked = typeof kind === "string" && kind ? kind : null;
    input.setAttribute("autocomplete", secretAsked ? "one-time-code" : "off");
    input.setAttribute("inputmode", secretAsked ? "numeric" : "text");
  }
  function quickReplies(buttons) {
    var box = el("div", { class: "quick", role: "group", "aria-label": t("quick") });
    buttons.forEach(function (b) {
      var btn = el("button", { type: "button" }, b.title);
      btn.addEventListener("click", function () {
        box.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        submit({ type: "button", title: b.title, payload: b.payload, text: b.title });
      });
      box.append(btn);
    });
    return box;
  }
  function feedback(turn) {
    var box = el("div", { class: "fb", role: "group", "aria-label": t("helpfulQ") });
    [["up", "\uD83D\uDC4D", t("helpful")], ["down", "\uD83D\uDC4E", t("notHelpful")]].forEach(function (f) {
      var pressed = (turn.feedback === 1 && f[0] === "up") || (turn.feedback === -1 && f[0] === "down");
      var btn = el("button", { type: "button", class: "fb-" + f[0], "aria-label": f[2], "aria-pressed": String(pressed) }, f[1]);
      btn.addEventListener("click", function () { send({ type: "feedback", turn_id: turn.turn_id, value: f[0] }); });
      box.append(btn);
    });
    return box;
  }
  function markDelivered(clientId, turnId) {
    var node = byClient[clientId];
    if (!node) return null;
    node.classList.remove("pending", "failed");
    if (turnId != null) { node.setAttribute("data-turn-id", turnId); byTurn[turnId] = node; }
    return node;
  }
  function showCsat() {
    if (!convId || state.rated.indexOf(convId) >= 0 || !csat.hidden) return;
    csat.textContent = "";
    csat.append(el("span", {}, t("satisfied")));
    var rated = convId;
    for (var i = 1; i <= 5; i++) (function (score) {
      var b = el("button", { type: "button", "aria-label": score + t("of5") }, String(score));
      b.addEventListener("click", function () { send({ type: "csat", score: score, conversation_id: rated }); });
      csat.append(b);
    })(i);
    csat.hidden = false;
  }

  // ---- connection ------------------------------------------------------------------------------
  var ws = null, ready = false, inflight = {}, sentMsgs = {}, backoff = 1000, timer = null;
  var MAX_RETRIES = 5, retries = {};  // a message the server keeps refusing as "retry" is given up on

  function send(event) {
    if (ws && ready) { ws.send(JSON.stringify(event)); return true; }
    return false;
  }
  function flush() {
    state.outbox.forEach(function (m) {
      if (!inflight[m.client_msg_id] && send(m)) inflight[m.client_msg_id] = true;
    });
  }
  function submit(msg) {
    msg.client_msg_id = newId();
    sentMsgs[msg.client_msg_id] = msg;
    state.outbox.push(msg);
    persist();
    render({ speaker: "customer", text: shown(msg), client_msg_id: msg.client_msg_id }).classList.add("pending");
    if (!ready) setStatus(t("offline"));
    flush();
  }
  function setStatus(text) { status.textContent = text || ""; }
  function dropFromOutbox(clientId) {
    state.outbox = state.outbox.filter(function (m) { return m.client_msg_id !== clientId; });
    delete inflight[clientId];
    persist();
  }
  function connect() {
    clearTimeout(timer);
    if (ws && ws.readyState <= 1) return;
    try { ws = new WebSocket(wsUrl); } catch (e) { return retry(); }
    ws.onopen = function () { backoff = 1000; ws.send(JSON.stringify(userId && userHash
      ? { type: "hello", token: state.token, user_id: userId, user_hash: userHash }
      : { type: "hello", token: state.token })); };
    ws.onmessage = function (e) { var ev; try { ev = JSON.parse(e.data); } catch (x) { return; } handle(ev); };
    ws.onclose = function () { ready = false; inflight = {}; retry(); };
  }
  function retry() {
    setStatus(lastError || t("lost"));
    clearTimeout(timer);
    // jitter: after a replica dies its customers do not all come back to the others at once
    timer = setTimeout(connect, backoff * (0.5 + Math.random()));
    backoff = Math.min(backoff * 2, 15000);
  }

  function handle(ev) {
    switch (ev.type) {
      case "session":
        if (ev.token) { state.token = ev.token; persist(); }
        convId = ev.conversation_id;
        break;
      case "history":
        log.textContent = ""; byTurn = {}; byClient = {};
        convId = ev.conversation_id;
        (ev.turns || []).forEach(render);
        state.outbox.forEach(function (m) {
          sentMsgs[m.client_msg_id] = m;
          if (byClient[m.client_msg_id]) return;  // stored already (acknowledged), awaiting its answer
          render({ speaker: "customer", text: shown(m), client_msg_id: m.client_msg_id }).classList.add("pending");
        });
        ready = true; lastError = ""; setStatus("");
        flush();
        break;
      case "ack":
        // stored; it stays in the outbox until its answer is over (typing off with its id), so a
        // connection lost meanwhile resends it (same client_msg_id: stored once, answered once)
        markDelivered(ev.client_msg_id, ev.turn_id);
        if (ev.conversation_id && ev.conversation_id !== convId) { convId = ev.conversation_id; csat.hidden = true; }
        break;
      case "message":
        render(ev);
        break;
      case "typing":
        typing.hidden = !ev.on;
        if (!ev.on && ev.client_msg_id) dropFromOutbox(ev.client_msg_id);
        break;
      case "feedback":
        var node = byTurn[ev.turn_id];
        if (node) node.querySelectorAll(".fb button").forEach(function (b) {
          b.setAttribute("aria-pressed", String(b.classList.contains("fb-" + ev.value)));
        });
        break;
      case "handoff":
        contact.hidden = !ev.leave_message;
        setStatus(ev.status === "waiting" ? t("waiting") : "");
        break;
      case "agent_joined":
        setStatus(t("chatting") + (ev.agent_name || t("anAgent")) + (lang === "zh" ? "" : "."));
        contact.hidden = true;
        break;
      case "agent_left":
        setStatus("");
        break;
      case "closed": case "csat_request":
        showCsat();
        break;
      case "csat":
        state.rated = state.rated.concat([ev.conversation_id]).slice(-20); persist();
        csat.textContent = t("thanks");
        break;
      case "contact_saved":
        contact.hidden = true;
        break;
      case "error":
        onError(ev);
        break;
    }
  }
  function onError(ev) {
    var node = ev.client_msg_id && byClient[ev.client_msg_id];
    if (ev.code === "unknown_session") { state.token = null; persist(); return; }
    if (ev.client_msg_id && ev.retry && (retries[ev.client_msg_id] = (retries[ev.client_msg_id] || 0) + 1) <= MAX_RETRIES) {
      // keep (or put back) the message in the outbox and send it again after a pause
      var msg = sentMsgs[ev.client_msg_id];
      if (msg && !state.outbox.some(function (m) { return m.client_msg_id === ev.client_msg_id; })) {
        state.outbox.push(msg); persist();
      }
      delete inflight[ev.client_msg_id];
      setTimeout(flush, Math.max(1000, (ev.retry_after_s || 2) * 1000));
    } else if (ev.client_msg_id) {
      dropFromOutbox(ev.client_msg_id);
      if (node) {
        node.classList.remove("pending"); node.classList.add("failed");
        if (!node.querySelector(".not-sent")) node.append(el("span", { class: "not-sent" }, t("notSent")));
      }
    }
    if (ev.code === "origin_not_allowed") lastError = ev.message;
    setStatus(ev.message);
  }

  // ---- user actions ----------------------------------------------------------------------------
  function setOpen(open) {
    state.open = open; persist();
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", (open ? t("close") : t("open")) + title);
    if (open) { connect(); input.focus(); } else { launcher.focus(); }
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });
  personBtn.addEventListener("click", function () { if (!send({ type: "handoff" })) setStatus(t("reconnecting")); });
  endBtn.addEventListener("click", function () { send({ type: "end" }); });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    if (!secretAsked) detectFrom(text);
    submit(secretAsked ? { type: "message", text: text, secret: secretAsked } : { type: "message", text: text });
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  contact.addEventListener("submit", function (e) { e.preventDefault(); send({ type: "contact", email: email.value.trim() }); });
  window.addEventListener("online", connect);
  window.addEventListener("storage", function (e) { if (e.key === KEY) { var s = load(); state.token = s.token || state.token; } });

  function start() {
    document.body.append(host);
    if (state.open || state.outbox.length) setOpen(state.open);
    if (state.outbox.length) connect();
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
