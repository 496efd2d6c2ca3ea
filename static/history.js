// Search and stars: "/" focuses the search box, "s" stars the selected post (chorus.js selects with j/k),
// star buttons work in place through the API. Without this file the star buttons are plain forms.
(function () {
  "use strict";
  const box = document.querySelector("[data-search-box]");

  async function toggle(form) {
    const post = form.querySelector("input[name=post_id]").value;
    const want = form.querySelector("input[name=starred]").value === "1";
    const api = form.dataset.apiStarred;
    const response = await fetch(want ? api : `${api}/${encodeURIComponent(post)}`, {
      method: want ? "POST" : "DELETE",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": form.querySelector("input[name=csrfmiddlewaretoken]").value },
      body: want ? JSON.stringify({ post: Number(post) }) : undefined,
    });
    if (!response.ok) { form.submit(); return; } // the page says why
    const answer = await response.json();
    form.querySelector("input[name=starred]").value = answer.starred ? "0" : "1";
    const button = form.querySelector("button.star");
    button.setAttribute("aria-pressed", String(answer.starred));
    button.textContent = answer.starred ? "★ Starred" : "☆ Star";
    document.querySelectorAll("[data-count-starred]").forEach((count) => { count.textContent = answer.count || ""; });
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("star-form")) return;
    event.preventDefault();
    toggle(form).catch(() => form.submit());
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key === "/" && box) {
      event.preventDefault();
      box.focus();
      box.select();
    } else if (event.key === "s") {
      const post = document.querySelector("article.post.selected") || document.querySelector("article.post");
      post?.querySelector("form.star-form button.star")?.click();
    }
  });
})();
