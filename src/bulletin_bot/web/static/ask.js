// Ask page: remembers recent questions in localStorage. The page works without it.
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
