// Admin page: while a re-index runs, poll its status and show progress.
(function () {
  "use strict";
  var data = {};
  try { data = JSON.parse(document.getElementById("page-data").textContent) || {}; } catch (e) { data = {}; }
  var bar = document.getElementById("job-progress");
  var text = document.getElementById("job-text");

  function describe(job) {
    if (job.running) {
      var p = job.progress;
      if (!p) return "正在重建索引…";
      return "正在重建索引：" + p.label + " " + p.done + "/" + p.total + (p.message ? " " + p.message : "") +
        (job.queued ? "（结束后还会再重建一次）" : "");
    }
    if (job.error) return "上次重建失败：" + job.error;
    if (job.report) {
      return "上次重建完成（" + job.finished_at + "）：" + job.report.summary;
    }
    return "本次运行还没有重建过索引。";
  }
  function showStats(stats) {
    if (!stats) return;
    Object.keys(stats).forEach(function (key) {
      var dd = document.querySelector('#stats dd[data-key="' + key + '"]');
      if (dd && key !== "model") dd.textContent = String(stats[key]);
    });
  }
  function poll() {
    fetch(data.status_url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (s) {
        var job = s.job;
        text.textContent = describe(job);
        bar.hidden = !job.running;
        if (job.progress && job.progress.total) { bar.max = job.progress.total; bar.value = job.progress.done; }
        else { bar.removeAttribute("value"); }
        showStats(s.stats);
        if (job.running) window.setTimeout(poll, 700);
      })
      .catch(function (e) { text.textContent = "无法读取重建进度：" + e.message; });
  }
  if (data.running) poll();
})();
