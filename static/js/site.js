// Small behaviours of the site, kept out of the HTML so the Content-Security-Policy can forbid
// inline scripts. Each one is opt-in through a data attribute.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-submit-on-change]");
  if (select && select.form) {
    select.form.submit();
  }
});
