// Stars in place: a star button shows its new state at once and the API is told; a failure puts it back and
// the form is sent the ordinary way (the page then says why). Without this file the star buttons are plain forms.
// The keys ("s" stars the selected post, "/" searches) are chorus.js'.
(function () {
  "use strict";

  function show(form, starred) {
    form.querySelector("input[name=starred]").value = starred ? "0" : "1";
    const button = form.querySelector("button.star");
    button.setAttribute("aria-pressed", String(starred));
    button.textContent = starred ? "★ Starred" : "☆ Star";
  }

  async function toggle(form) {
    const post = form.querySelector("input[name=post_id]").value;
    const want = form.querySelector("input[name=starred]").value === "1";
    const api = form.dataset.apiStarred;
    show(form, want);
    counts((n) => n + (want ? 1 : -1));
    const response = await fetch(want ? api : `${api}/${encodeURIComponent(post)}`, {
      method: want ? "POST" : "DELETE",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": form.querySelector("input[name=csrfmiddlewaretoken]").value },
      body: want ? JSON.stringify({ post: Number(post) }) : undefined,
    });
    if (!response.ok) throw new Error(String(response.status));
    const answer = await response.json();
    show(form, answer.starred);
    counts(() => answer.count);
  }

  function counts(change) { // the navigation's starred count (and the starred page's)
    document.querySelectorAll("[data-count-starred]").forEach((count) => {
      count.textContent = String(Math.max(0, change(parseInt(count.textContent, 10) || 0)) || "");
    });
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("star-form")) return;
    event.preventDefault();
    const before = form.querySelector("input[name=starred]").value === "0";
    toggle(form).catch(() => { show(form, before); counts((n) => n + (before ? 1 : -1)); form.submit(); });
  });
})();
