// Small behaviours of the site, kept out of the HTML so the Content-Security-Policy can forbid
// inline scripts. Each one is opt-in through a data attribute; without JavaScript every page
// still works (the menu is simply always open, forms submit without a confirmation).
document.documentElement.classList.add("js");

document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-submit-on-change]");
  if (select && select.form) {
    select.form.submit();
  }
});

// The header's menu button on narrow screens.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-menu-toggle]");
  if (!toggle) {
    return;
  }
  const header = toggle.closest(".topbar");
  const open = header.classList.toggle("open");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") {
    return;
  }
  const header = document.querySelector(".topbar.open");
  if (header) {
    header.classList.remove("open");
    const toggle = header.querySelector("[data-menu-toggle]");
    toggle.setAttribute("aria-expanded", "false");
    toggle.focus();
  }
});

// Destructive actions ask first: <form data-confirm="Remove bob@example.com?">, or the one
// submit button of a form that does several things: <button data-confirm="…">.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question =
    (button && button.dataset && button.dataset.confirm) || event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
