// Task page: streams a running task's events over Server-Sent Events from
// /create/tasks/{id}/events, appends log lines to their step, updates step
// states, durations and the progress bar, and when the task completes
// swaps in the server's rendering of the finished page (its output links
// and buttons). Without JavaScript the page is a snapshot with a Refresh
// link.
(function () {
  "use strict";
  var icons = { completed: "✓", failed: "✕", processing: "◐", cancelled: "⊘", skipped: "↷" };
  var classes = { completed: "ok", failed: "err", processing: "info", cancelled: "warn" };
  var root, source, last = 0, timer = 0;

  function label(s) { return !s || s === "open" ? "pending" : s; }
  function setBadge(el, status) {
    el.classList.remove("ok", "err", "info", "warn");
    if (classes[status]) el.classList.add(classes[status]);
  }
  function duration(ms) {
    if (!(ms > 0)) return "";
    if (ms < 1) return "<1ms";
    if (ms < 1000) return Math.round(ms) + "ms";
    var s = ms / 1000;
    if (s < 60) return (Math.round(s * 10) / 10) + "s";
    var m = Math.floor(s / 60);
    s = Math.round(s - m * 60);
    if (m < 60) return m + "m" + s + "s";
    return Math.floor(m / 60) + "h" + (m % 60) + "m0s";
  }
  function hhmmss(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toISOString().substr(11, 8);
  }
  function stepEl(id) {
    var steps = root.querySelectorAll("li.task-step");
    for (var i = 0; i < steps.length; i++) if (steps[i].dataset.step === id) return steps[i];
    return null;
  }
  function logEl(step) {
    var logs = root.querySelectorAll("pre.task-log");
    for (var i = 0; i < logs.length; i++) if (logs[i].dataset.log === (step || "")) return logs[i];
    return null;
  }

  function appendLine(ev) {
    var pre = logEl(stepEl(ev.body.stepId || "") ? ev.body.stepId : "");
    if (!pre) return;
    var stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    var line = document.createElement("span");
    line.className = "log-line";
    line.dataset.id = String(ev.id);
    var t = document.createElement("time");
    t.dateTime = ev.createdAt;
    t.textContent = hhmmss(ev.createdAt);
    line.appendChild(t);
    line.appendChild(document.createTextNode(" " + (ev.body.message || "") + "\n"));
    pre.appendChild(line);
    if (stick) pre.scrollTop = pre.scrollHeight;
  }

  function setStep(li, status, at) {
    li.dataset.status = status;
    li.className = li.className.replace(/\bstep-[a-z]+\b/g, "").trim() + " step-" + status;
    li.querySelector(".step-icon").textContent = icons[status] || "○";
    var badge = li.querySelector(".step-status");
    badge.textContent = label(status);
    setBadge(badge, status);
    if (status === "processing") {
      li.dataset.started = at;
      li.querySelector("details").open = true;
    } else if (li.dataset.started && status !== "") {
      li.querySelector(".step-duration").textContent = duration(Date.parse(at) - Date.parse(li.dataset.started));
      delete li.dataset.started;
      li.dataset.ended = "1";
    }
    var done = root.querySelectorAll('li.task-step[data-status="completed"], li.task-step[data-status="skipped"]').length;
    var bar = document.getElementById("task-progress");
    if (bar) bar.value = done;
    var n = document.getElementById("task-done");
    if (n) n.textContent = String(done);
  }

  function setTask(status) {
    var badge = document.getElementById("task-status");
    if (!badge || badge.dataset.status === status) return;
    badge.dataset.status = status;
    badge.querySelector(".icon").textContent = icons[status] || "○";
    badge.querySelector(".label").textContent = label(status);
    setBadge(badge, status);
  }

  // tick shows running steps' elapsed time.
  function tick() {
    var steps = root.querySelectorAll('li.task-step[data-status="processing"]');
    for (var i = 0; i < steps.length; i++) {
      var started = Date.parse(steps[i].dataset.started);
      if (started) steps[i].querySelector(".step-duration").textContent = duration(Date.now() - started);
    }
  }

  function onEvent(e) {
    var ev;
    try { ev = JSON.parse(e.data); } catch (err) { return; }
    if (ev.id <= last) return; // a reconnect replays nothing twice
    last = ev.id;
    appendLine(ev);
    var li = ev.body.stepId ? stepEl(ev.body.stepId) : null;
    if (li && ev.body.status) {
      setStep(li, ev.body.status, ev.createdAt);
      if (ev.body.status === "processing") setTask("processing");
    }
    if (e.type === "completion") finish();
  }

  // finish closes the stream and replaces the page's section with the
  // server's rendering of the finished task.
  function finish() {
    if (source) source.close();
    source = null;
    clearInterval(timer);
    fetch(window.location.pathname, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (res) { if (!res.ok) throw new Error(res.status); return res.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("task");
        if (!fresh) throw new Error("no task section");
        // Keep the steps the reader opened.
        var open = {};
        root.querySelectorAll("li.task-step").forEach(function (li) { open[li.dataset.step] = li.querySelector("details").open; });
        fresh.querySelectorAll("li.task-step").forEach(function (li) {
          if (open[li.dataset.step]) li.querySelector("details").open = true;
        });
        root.replaceWith(document.adoptNode(fresh));
        root = fresh;
      })
      .catch(function () { showRefresh(); });
  }

  function showRefresh() {
    var live = document.getElementById("task-live");
    var refresh = document.getElementById("task-refresh");
    if (live) live.hidden = true;
    if (refresh) refresh.hidden = false;
  }

  function start() {
    root = document.getElementById("task");
    if (!root || !window.EventSource || !window.fetch) return;
    var status = root.dataset.status;
    if (status !== "open" && status !== "processing") return;
    last = Number(root.dataset.after) || 0;
    source = new EventSource(root.dataset.stream + "?after=" + last);
    ["log", "cancelled", "recovered", "completion"].forEach(function (t) { source.addEventListener(t, onEvent); });
    source.addEventListener("open", function () {
      var live = document.getElementById("task-live");
      var refresh = document.getElementById("task-refresh");
      if (live) live.hidden = false;
      if (refresh) refresh.hidden = true;
    });
    source.addEventListener("error", function () {
      if (source && source.readyState === EventSource.CLOSED) showRefresh();
    });
    timer = setInterval(tick, 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
