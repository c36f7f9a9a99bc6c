// Atrium portal behaviour: the collapsible navigation and live updates.
// Hand-written, no build step, no external hosts. Pages work without it.
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", function () {
  setupNav();
  setupAutoSubmit();
  setupLive();
});

// The menu button opens and closes the navigation on narrow screens.
function setupNav() {
  var button = document.querySelector(".nav-toggle");
  var nav = document.getElementById("site-nav");
  if (!button || !nav) return;
  button.addEventListener("click", function () {
    var open = nav.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
}

// Forms marked data-autosubmit submit when one of their checkboxes or
// selects changes, so facet filters apply at once (the submit button stays
// for keyboard and no-JS users).
function setupAutoSubmit() {
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.addEventListener("change", function (ev) {
      var t = ev.target;
      if (t && (t.type === "checkbox" || t.tagName === "SELECT")) form.submit();
    });
  });
}

// Live updates. An element with data-live-refs (space-separated entity refs)
// is replaced by the server's current version of the page when one of those
// entities changes. An element with data-live-list shows how many catalog
// changes happened since the page was loaded.
function setupLive() {
  if (!window.EventSource) return;
  var region = document.querySelector("[data-live-refs]");
  var list = document.querySelector("[data-live-list]");
  if (!region && !list) return;
  var url = "/events/catalog";
  if (region) {
    var refs = region.getAttribute("data-live-refs").split(/\s+/).filter(Boolean);
    url += "?" + refs.map(function (r) { return "ref=" + encodeURIComponent(r); }).join("&");
  }
  var pending = 0;
  var reloading = false;
  var source = new EventSource(url);
  // data-live on the root element tells people and tests the stream is up.
  // A change between the page's rendering and the stream's opening has no
  // event on this stream: once open (and after a reconnect), the region is
  // read again and replaced only if it differs.
  source.addEventListener("open", function () {
    document.documentElement.setAttribute("data-live", "on");
    if (region) reloadRegion(true);
  });
  source.addEventListener("error", function () { document.documentElement.setAttribute("data-live", "off"); });
  source.addEventListener("change", function (ev) {
    var change;
    try { change = JSON.parse(ev.data); } catch (e) { return; }
    if (region) {
      reloadRegion();
    } else if (list) {
      pending += change.count || 1;
      showHint(list, pending);
    }
  });
  window.addEventListener("pagehide", function () { source.close(); });

  function reloadRegion(onlyIfChanged) {
    if (reloading) return;
    reloading = true;
    fetch(window.location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (res) { return res.text().then(function (t) { return { status: res.status, text: t }; }); })
      .then(function (res) {
        var doc = new DOMParser().parseFromString(res.text, "text/html");
        var fresh = doc.getElementById("main");
        var main = document.getElementById("main");
        if (fresh && main && !(onlyIfChanged && fresh.innerHTML === main.innerHTML)) {
          main.innerHTML = fresh.innerHTML;
          main.classList.remove("live-flash");
          void main.offsetWidth;
          main.classList.add("live-flash");
          if (doc.title) document.title = doc.title;
          region = document.querySelector("[data-live-refs]");
        }
      })
      .catch(function () {})
      .then(function () { reloading = false; });
  }
}

function showHint(list, n) {
  var hint = document.getElementById("live-hint");
  if (!hint) return;
  var text = hint.querySelector("[data-count]");
  text.textContent = n + (n === 1 ? " change" : " changes") + " since this page loaded";
  hint.hidden = false;
}
