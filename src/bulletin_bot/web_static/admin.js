// Admin page: while a re-index runs, poll its status and show progress.
(function () {
  "use strict";
  var data = {};
  try { data = JSON.parse(document.getElementById("page-data").textContent) || {}; } catch (e) { data = {}; }
  var bar = document.getElementById("job-progress");
  var text = document.getElementById("job-text");
  var button = document.getElementById("reindex-button");
  var STAGES = { scan: "扫描文件", parse: "解析", embed: "计算向量", write: "写入索引", "switch": "切换索引", done: "完成" };

  function describe(job) {
    if (job.running) {
      var p = job.progress;
      if (!p) return "正在重建索引…";
      return "正在重建索引：" + (STAGES[p.stage] || p.stage) + " " + p.done + "/" + p.total + (p.message ? " " + p.message : "");
    }
    if (job.error) return "上次重建失败：" + job.error;
    if (job.report) {
      var r = job.report;
      return "上次重建完成（" + job.finished_at + "）：新增 " + r.added + "，修改 " + r.changed + "，删除 " + r.removed +
        "，共 " + r.issues + " 期 " + r.articles + " 篇。";
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
        button.disabled = job.running;
        showStats(s.stats);
        if (job.running) window.setTimeout(poll, 700);
      })
      .catch(function (e) { text.textContent = "无法读取重建进度：" + e.message; });
  }
  if (data.running) poll();
})();
