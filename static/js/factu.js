// Small progressive enhancements; every page works without them. No template carries inline
// script or on* handlers (the Content-Security-Policy refuses them): behaviour lives here,
// attached to data- attributes.
// A submit button with data-confirm asks before its form is sent.
document.addEventListener("submit", (event) => {
  const question = event.submitter && event.submitter.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-autosubmit]") && el.form) el.form.requestSubmit();
});
