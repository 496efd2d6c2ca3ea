// The compose box: characters left, counted as a person sees them (grapheme clusters), as the server counts.
(function () {
  "use strict";
  var segmenter = window.Intl && Intl.Segmenter ? new Intl.Segmenter(undefined, {granularity: "grapheme"}) : null;

  function visibleLength(text) {
    if (segmenter) {
      var n = 0;
      for (var _ of segmenter.segment(text)) n++;
      return n;
    }
    return Array.from(text).length;
  }

  // "@al" before the caret: the handles of people and accounts the person follows that start so, to pick from.
  var TOKEN = /(^|\s)(@[^\s@]*(?:@[^\s@]*)?)$/;

  function completeHandles(form, box) {
    var list = form.querySelector("ul.completions");
    var url = box.dataset.completeUrl;
    if (!list || !url) return;
    var asked = 0;
    function close() { list.hidden = true; list.replaceChildren(); }
    function pick(handle) {
      var before = box.value.slice(0, box.selectionStart), after = box.value.slice(box.selectionStart);
      var token = before.match(TOKEN);
      before = before.slice(0, before.length - token[2].length) + handle + " ";
      box.value = before + after;
      box.setSelectionRange(before.length, before.length);
      close();
      box.focus();
      box.dispatchEvent(new Event("input"));
    }
    function show(handles) {
      list.replaceChildren();
      handles.forEach(function (item) {
        var li = document.createElement("li"), button = document.createElement("button");
        button.type = "button";
        button.className = "completion";
        button.dataset.handle = item.handle;
        var name = document.createElement("span");
        name.className = "name";
        name.textContent = item.name;
        var handle = document.createElement("span");
        handle.className = "handle";
        handle.textContent = item.handle;
        button.append(name, " ", handle);
        button.addEventListener("mousedown", function (event) { event.preventDefault(); });
        button.addEventListener("click", function () { pick(item.handle); });
        li.append(button);
        list.append(li);
      });
      list.hidden = handles.length === 0;
    }
    box.addEventListener("input", function () {
      var token = box.value.slice(0, box.selectionStart).match(TOKEN);
      if (!token || token[2].length < 2) { close(); return; }
      var ask = ++asked;
      fetch(url + "?q=" + encodeURIComponent(token[2]), {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (handles) { if (ask === asked) show(handles); })
        .catch(close);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Escape") close();
      if (event.key === "Tab" && !list.hidden && list.firstElementChild) {
        event.preventDefault();
        pick(list.firstElementChild.firstElementChild.dataset.handle);
      }
    });
    box.addEventListener("blur", close);
  }

  document.querySelectorAll("form.compose").forEach(function (form) {
    var box = form.querySelector("textarea[name=text]");
    var left = form.querySelector("[data-chars-left]");
    var most = parseInt(box.dataset.maxChars, 10) || 140;
    function update() {
      var remaining = most - visibleLength(box.value.trim());
      left.textContent = String(remaining);
      left.classList.toggle("over", remaining < 0);
      form.querySelector("button[type=submit]").disabled = remaining < 0;
    }
    box.addEventListener("input", update);
    update();
    completeHandles(form, box);
    form.dataset.ready = "1";
  });
})();
