// supportbot console: times in the agent's own time zone, waits that count up ("3 min"), and an opt-in
// desktop notification with a short sound when a customer starts waiting. Loaded before console.js,
// which calls window.SupportbotInbox. Only textContent is ever written.
(function () {
  "use strict";
  var KEY = "supportbot.notify";
  var formatter = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "medium"});

  function format(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? "" : formatter.format(d);
  }

  function localTimes(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (t) {
      var text = format(t.getAttribute("datetime"));
      if (!text) return;
      t.title = t.getAttribute("datetime");
      t.textContent = text;
      t.dataset.local = "1";
    });
  }

  function waited(iso, now) {
    var seconds = Math.max(0, Math.floor(((now || Date.now()) - new Date(iso).getTime()) / 1000));
    if (isNaN(seconds)) return "";
    if (seconds < 60) return "just now";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 24) return minutes ? hours + " h " + minutes + " min" : hours + " h";
    var days = Math.floor(hours / 24);
    return days === 1 ? "1 day" : days + " days";
  }

  function tickWaits() {
    document.querySelectorAll(".waited[data-since]").forEach(function (w) {
      w.textContent = waited(w.dataset.since);
    });
  }

  function enabled() {
    try { return window.localStorage.getItem(KEY) === "on"; } catch (e) { return false; }
  }

  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      var ctx = new Ctx(), osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.08;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no sound: the notification still shows */ }
  }

  function notify(ev) {
    if (!enabled() || !ev || ev.status !== "waiting") return false;
    beep();
    if (window.Notification && Notification.permission === "granted") {
      var n = new Notification("A customer is waiting", {
        body: ev.reason === "customer" ? "They asked for a person." : "The bot handed off.",
        tag: "supportbot-" + (ev.conversation_id || "queue")
      });
      n.onclick = function () { window.focus(); window.location.href = "/console/queue"; };
    }
    return true;
  }

  function showState(state) {
    var box = document.getElementById("notify-state");
    if (box) box.textContent = state;
  }

  function setUpToggle() {
    var toggle = document.getElementById("notify-toggle");
    if (!toggle) return;
    toggle.checked = enabled();
    toggle.addEventListener("change", function () {
      try { window.localStorage.setItem(KEY, toggle.checked ? "on" : "off"); } catch (e) { /* private mode */ }
      if (toggle.checked && window.Notification && Notification.permission === "default") {
        Notification.requestPermission().then(function (p) {
          showState(p === "granted" ? "" : "Your browser blocks notifications; you will hear the sound only.");
        });
      } else if (toggle.checked && window.Notification && Notification.permission === "denied") {
        showState("Your browser blocks notifications; you will hear the sound only.");
      } else {
        showState("");
      }
    });
  }

  window.SupportbotInbox = {format: format, localTimes: localTimes, waited: waited, notify: notify};
  localTimes(document);
  tickWaits();
  setUpToggle();
  window.setInterval(tickWaits, 30000);
})();
