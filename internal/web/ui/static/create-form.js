// Template forms (/create/templates/…): conditional fields, array items and
// picker type-ahead. Hand-written, no build step. The form works without
// it: the server evaluates the same conditions and validates every page.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form.cf-form").forEach(function (form) {
    setupConditions(form);
    setupLists(form);
    setupSuggest(form);
  });
  // After a refused page, start at the list of problems (each links to
  // its field).
  var summary = document.getElementById("cf-summary");
  if (summary) summary.focus();
});

// The value a condition looks at: a checkbox counts when checked, radios
// by the checked one, other inputs by their text.
function controlValue(form, name) {
  var value = "";
  form.querySelectorAll("[name]").forEach(function (el) {
    if (el.name !== name || el.disabled) return;
    if (el.type === "checkbox") {
      if (el.checked) value = el.value;
    } else if (el.type === "radio") {
      if (el.checked) value = el.value;
    } else if (el.type !== "hidden" || value === "") {
      value = el.value;
    }
  });
  return value.trim();
}

// Fields with data-cond-on are shown when the named input has a value, or
// one of data-cond-values (newline-separated) when given.
function setupConditions(form) {
  var fields = form.querySelectorAll("[data-cond-on]");
  if (!fields.length) return;
  function update() {
    fields.forEach(function (field) {
      var v = controlValue(form, field.getAttribute("data-cond-on"));
      var want = field.getAttribute("data-cond-values");
      var show = v !== "" && v !== "false" && (!want || want.split("\n").indexOf(v) >= 0);
      field.hidden = !show;
    });
  }
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
}

// Arrays of strings: Add appends an empty item, Remove takes one away (the
// last one is emptied instead).
function setupLists(form) {
  form.querySelectorAll("[data-remove], [data-add]").forEach(function (b) { b.hidden = false; });
  form.addEventListener("click", function (ev) {
    var remove = ev.target.closest("[data-remove]");
    if (remove) {
      var item = remove.closest(".cf-item");
      var list = item.parentNode;
      if (list.querySelectorAll(".cf-item").length > 1) {
        var next = item.nextElementSibling || item.previousElementSibling;
        item.remove();
        renumber(list);
        var input = next && next.querySelector("input");
        if (input) input.focus();
      } else {
        item.querySelector("input").value = "";
      }
      form.dispatchEvent(new Event("change"));
      return;
    }
    var add = ev.target.closest("[data-add]");
    if (add) {
      var ul = add.parentNode.querySelector("ul.cf-list");
      var items = ul.querySelectorAll(".cf-item");
      var last = items[items.length - 1];
      var lastInput = last.querySelector("input");
      if (lastInput.value.trim() === "") { lastInput.focus(); return; }
      var copy = last.cloneNode(true);
      var input = copy.querySelector("input");
      input.value = "";
      input.removeAttribute("id");
      delete input.dataset.bound;
      copy.querySelectorAll(".cf-suggest").forEach(function (s) { s.remove(); });
      ul.appendChild(copy);
      renumber(ul);
      bindSuggest(form, input);
      input.focus();
    }
  });
}

function renumber(list) {
  list.querySelectorAll(".cf-item").forEach(function (item, i) {
    var input = item.querySelector("input");
    var button = item.querySelector("[data-remove]");
    var label = (input.getAttribute("aria-label") || "").replace(/ item \d+$/, "");
    input.setAttribute("aria-label", label + " item " + (i + 1));
    if (button) button.setAttribute("aria-label", "Remove " + label + " item " + (i + 1));
  });
}

// Pickers: inputs with data-suggest-kind ask the template's suggest
// endpoint as the person types and offer the answers in a list box.
var suggestCount = 0;

function setupSuggest(form) {
  form.querySelectorAll("input[data-suggest-kind]").forEach(function (input) { bindSuggest(form, input); });
}

function bindSuggest(form, input) {
  if (!input.hasAttribute("data-suggest-kind") || input.dataset.bound) return;
  input.dataset.bound = "1";
  var endpoint = form.getAttribute("data-suggest");
  var box = document.createElement("ul");
  box.className = "cf-suggest";
  box.id = "cf-suggest-" + (++suggestCount);
  box.setAttribute("role", "listbox");
  box.hidden = true;
  input.setAttribute("aria-controls", box.id);
  input.parentNode.classList.add("cf-suggest-wrap");
  input.insertAdjacentElement("afterend", box);
  var timer = null, active = -1, items = [], seq = 0;

  function close() {
    box.hidden = true;
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }
  function pick(i) {
    if (i < 0 || i >= items.length) return;
    input.value = items[i].value;
    close();
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function highlight(i) {
    var lis = box.querySelectorAll("li");
    lis.forEach(function (li, j) { li.setAttribute("aria-selected", j === i ? "true" : "false"); });
    active = i;
    if (lis[i]) {
      input.setAttribute("aria-activedescendant", lis[i].id);
      lis[i].scrollIntoView({ block: "nearest" });
    }
  }
  function show(list) {
    items = list;
    box.textContent = "";
    list.forEach(function (s, i) {
      var li = document.createElement("li");
      li.id = box.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("data-value", s.value);
      var main = document.createElement("span");
      main.textContent = s.label === s.value ? s.value : s.label + " (" + s.value + ")";
      li.appendChild(main);
      if (s.detail) {
        var d = document.createElement("span");
        d.className = "d";
        d.textContent = s.detail;
        li.appendChild(d);
      }
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); pick(i); });
      box.appendChild(li);
    });
    box.hidden = list.length === 0;
    input.setAttribute("aria-expanded", list.length ? "true" : "false");
    active = -1;
  }
  function query() {
    var mine = ++seq;
    var url = endpoint + "?field=" + encodeURIComponent(input.getAttribute("data-suggest-field")) +
      "&q=" + encodeURIComponent(input.value.trim());
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (res) { return res.ok ? res.json() : { items: [] }; })
      .then(function (body) { if (mine === seq && document.activeElement === input) show(body.items || []); })
      .catch(function () {});
  }
  input.addEventListener("input", function () {
    // Answers for older text are stale: drop them and the open list.
    seq++;
    close();
    clearTimeout(timer);
    timer = setTimeout(query, 150);
  });
  input.addEventListener("focus", function () { query(); });
  input.addEventListener("blur", function () { setTimeout(close, 100); });
  input.addEventListener("keydown", function (ev) {
    if (box.hidden) {
      if (ev.key === "ArrowDown") { query(); ev.preventDefault(); }
      return;
    }
    if (ev.key === "ArrowDown") { highlight(Math.min(active + 1, items.length - 1)); ev.preventDefault(); }
    else if (ev.key === "ArrowUp") { highlight(Math.max(active - 1, 0)); ev.preventDefault(); }
    else if (ev.key === "Enter" && active >= 0) { pick(active); ev.preventDefault(); }
    else if (ev.key === "Escape") { close(); ev.preventDefault(); }
  });
}
