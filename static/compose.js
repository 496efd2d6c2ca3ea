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
    form.dataset.ready = "1";
  });
})();
