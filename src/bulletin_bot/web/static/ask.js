// Ask page: remembers recent questions in localStorage, and keeps one conversation per browser
// tab (a random id in sessionStorage, sent as ?session=) so that follow-ups ("那徐州呢") are read
// against the questions before. The page works without it: each question then stands alone.
(function () {
  "use strict";
  var KEY = "bulletin_bot.recent";
  var MAX = 10;
  var data = {};
  try { data = JSON.parse(document.getElementById("page-data").textContent) || {}; } catch (e) { data = {}; }

  function load() {
    try {
      var list = JSON.parse(window.localStorage.getItem(KEY) || "[]");
      return Array.isArray(list) ? list.filter(function (q) { return typeof q === "string" && q; }).slice(0, MAX) : [];
    } catch (e) { return []; }
  }
  function save(list) {
    try { window.localStorage.setItem(KEY, JSON.stringify(list)); } catch (e) { /* private mode: keep nothing */ }
  }
  function render(list) {
    var section = document.getElementById("recent");
    var ul = document.getElementById("recent-list");
    if (!section || !ul) return;
    while (ul.firstChild) ul.removeChild(ul.firstChild);
    var action = document.querySelector("form.ask").getAttribute("action");
    list.forEach(function (q) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = action + "?q=" + encodeURIComponent(q);
      a.textContent = q;  // text, never HTML
      li.appendChild(a);
      ul.appendChild(li);
    });
    section.hidden = list.length === 0;
  }

  function newSession() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var SESSION_KEY = "bulletin_bot.session";
  var session = "";
  try {
    session = window.sessionStorage.getItem(SESSION_KEY) || "";
    if (!/^[0-9a-f]{32}$/.test(session)) {
      session = newSession();
      window.sessionStorage.setItem(SESSION_KEY, session);
    }
  } catch (e) { session = ""; }
  var field = document.getElementById("session");
  if (field && session) field.value = session;
  var restart = document.getElementById("new-conversation");
  if (restart && session) {
    restart.hidden = false;
    restart.addEventListener("click", function () {
      // a new id: the server forgets the old conversation when it expires
      try { window.sessionStorage.setItem(SESSION_KEY, newSession()); } catch (e) { /* keep the old one */ }
      window.location.href = document.querySelector("form.ask").getAttribute("action");
    });
  }

  var list = load();
  if (data.query) {
    list = [data.query].concat(list.filter(function (q) { return q !== data.query; })).slice(0, MAX);
    save(list);
  }
  render(list);
  var clear = document.getElementById("recent-clear");
  if (clear) clear.addEventListener("click", function () {
    save([]);
    render([]);
    document.getElementById("q").focus();
  });
})();
