// Pan and zoom for the relation graph: drag to pan, Ctrl+wheel or the
// buttons to zoom, by changing the SVG's viewBox. Without this script the
// graph still shows, scrollable, and every node is a link.
(function () {
  "use strict";
  function setup(canvas) {
    var svg = canvas.querySelector("svg.relgraph");
    if (!svg) return;
    var vb = svg.getAttribute("viewBox").split(/\s+/).map(Number);
    var full = vb.slice();
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    function apply() { svg.setAttribute("viewBox", vb.join(" ")); }
    function zoom(f, cx, cy) {
      var w = vb[2] * f, h = vb[3] * f;
      if (w < 100 || w > full[2] * 4) return;
      if (cx === undefined) { cx = vb[0] + vb[2] / 2; cy = vb[1] + vb[3] / 2; }
      vb = [cx - (cx - vb[0]) * f, cy - (cy - vb[1]) * f, w, h];
      apply();
    }
    function point(ev) {
      var r = svg.getBoundingClientRect();
      var s = Math.max(vb[2] / r.width, vb[3] / r.height);
      return [vb[0] + (ev.clientX - r.left) * s, vb[1] + (ev.clientY - r.top) * s, s];
    }
    canvas.addEventListener("wheel", function (ev) {
      if (!ev.ctrlKey) return;
      ev.preventDefault();
      var p = point(ev);
      zoom(ev.deltaY > 0 ? 1.15 : 1 / 1.15, p[0], p[1]);
    }, { passive: false });
    var drag = null;
    canvas.addEventListener("pointerdown", function (ev) {
      if (ev.target.closest("a")) return;
      drag = { x: ev.clientX, y: ev.clientY, vb: vb.slice(), s: point(ev)[2] };
      canvas.classList.add("dragging");
      canvas.setPointerCapture(ev.pointerId);
    });
    canvas.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      vb[0] = drag.vb[0] - (ev.clientX - drag.x) * drag.s;
      vb[1] = drag.vb[1] - (ev.clientY - drag.y) * drag.s;
      apply();
    });
    function end() { drag = null; canvas.classList.remove("dragging"); }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("keydown", function (ev) {
      var step = vb[2] / 10;
      var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (moves[ev.key] && ev.target === canvas) {
        ev.preventDefault();
        vb[0] += moves[ev.key][0]; vb[1] += moves[ev.key][1]; apply();
      } else if (ev.key === "+" || ev.key === "=") { zoom(1 / 1.2); }
      else if (ev.key === "-") { zoom(1.2); }
    });
    var bar = document.querySelector(".graph-zoom");
    if (bar) {
      bar.hidden = false;
      bar.addEventListener("click", function (ev) {
        var b = ev.target.closest("[data-graph-zoom]");
        if (!b) return;
        var what = b.getAttribute("data-graph-zoom");
        if (what === "in") zoom(1 / 1.25);
        else if (what === "out") zoom(1.25);
        else { vb = full.slice(); apply(); }
      });
    }
  }
  function init() {
    document.querySelectorAll(".graph-canvas").forEach(setup);
    var depth = document.getElementById("graph-depth");
    if (depth && depth.hasAttribute("data-autosubmit-field")) {
      depth.addEventListener("change", function () { depth.form.submit(); });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
