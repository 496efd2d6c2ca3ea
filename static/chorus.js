// Keyboard shortcuts like Google Reader: j/k move, o opens, m toggles read; pictures that failed to load are
// removed. The page works without this file.
(function () {
  "use strict";
  const posts = () => Array.from(document.querySelectorAll("article.post"));
  let current = -1;

  function select(index) {
    const list = posts();
    if (!list.length) return;
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((post, i) => post.classList.toggle("selected", i === current));
    list[current].scrollIntoView({ block: "start", behavior: "smooth" });
  }

  // The top bar is sticky and wraps on narrow screens (two or three rows): what sticks below it (the "new posts"
  // button) and what is scrolled to (j/k, links to #post-N) must clear its real height, not a guess.
  const topbar = document.querySelector(".topbar");
  if (topbar && window.ResizeObserver) {
    new ResizeObserver(() => document.documentElement.style.setProperty("--topbar-height", `${topbar.offsetHeight}px`)).observe(topbar);
  }

  // A source without a usable picture answers 404: no broken-image boxes (those failed before this ran, too).
  const dropBroken = (img) => img.matches("img.avatar") && img.remove();
  document.addEventListener("error", (event) => { if (event.target instanceof HTMLImageElement) dropBroken(event.target); }, true);
  document.querySelectorAll("img.avatar").forEach((img) => { if (img.complete && !img.naturalWidth) dropBroken(img); });

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest("input, textarea, select, [contenteditable]")) return;
    const post = posts()[current];
    if (event.key === "j") select(current + 1);
    else if (event.key === "k") select(current - 1);
    else if (event.key === "o" && post && post.dataset.url) window.open(post.dataset.url, "_blank", "noopener");
    else if (event.key === "m" && post) post.querySelector("form button.mark-read")?.click();
  });
})();
