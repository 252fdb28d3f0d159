// Behaviour pages declare with data attributes, so that the Content-Security-Policy can forbid
// inline scripts and event handlers (script-src 'self'):
//   <select data-autosubmit>          submits its form when the choice changes;
//   <form data-reset-after="live">     is cleared once htmx swapped a successful answer into #live;
//   <a data-back href="/">             goes back in history (the href is the way without script);
//   <input data-enter-clicks-next>     Enter clicks the element after it instead of submitting;
//   <form data-mark-dirty>             gets the class "dirty" once anything in it is changed;
//   <div class="timeline-bar"><span>   each segment shows its stage's name only when it fits;
//   <span data-reload-after="5000">   reloads the page after that many milliseconds (a page
//                                      waiting for background work, e.g. a first scoring);
//   <div hx-trigger="every 5s" data-poll-waits-for-typing>
//                                      skips a poll while a field inside has the focus or a form
//                                      inside is dirty, so nothing typed is swapped away (an
//                                      hx-trigger filter would need eval, which the CSP forbids).
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && "autosubmit" in field.dataset && field.form) {
    field.form.submit();
  }
});

document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.target;
  const target = event.detail && event.detail.target;
  if (
    form instanceof HTMLFormElement &&
    form.dataset.resetAfter &&
    event.detail.successful &&
    target &&
    target.id === form.dataset.resetAfter
  ) {
    form.reset();
  }
});

document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("[data-back]") : null;
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});

document.addEventListener("keydown", (event) => {
  const field = event.target;
  if (event.key === "Enter" && field instanceof HTMLElement && "enterClicksNext" in field.dataset) {
    event.preventDefault();
    const next = field.nextElementSibling;
    if (next instanceof HTMLElement) next.click();
  }
});

document.addEventListener("input", (event) => {
  const form = event.target instanceof Element ? event.target.closest("[data-mark-dirty]") : null;
  if (form) form.classList.add("dirty");
});

document.addEventListener("htmx:beforeRequest", (event) => {
  const element = event.detail && event.detail.elt;
  if (!(element instanceof HTMLElement) || !("pollWaitsForTyping" in element.dataset)) return;
  const config = event.detail.requestConfig;
  const polled = !config || !config.triggeringEvent; // a poll has no triggering event
  if (polled && (element.querySelector(":focus") || element.querySelector("form.dirty"))) {
    event.preventDefault();
  }
});

document.addEventListener("DOMContentLoaded", () => {
  const waiting = document.querySelector("[data-reload-after]");
  if (waiting instanceof HTMLElement) {
    const ms = Number(waiting.dataset.reloadAfter) || 5000;
    window.setTimeout(() => window.location.reload(), ms);
  }
});

function labelTimelines() {
  for (const segment of document.querySelectorAll(".timeline-bar span")) {
    segment.classList.remove("no-label");
    const range = document.createRange();
    range.selectNodeContents(segment);
    const text = range.getBoundingClientRect();
    const box = segment.getBoundingClientRect();
    if (text.width > box.width - 4) segment.classList.add("no-label");
  }
}
document.addEventListener("DOMContentLoaded", labelTimelines);
window.addEventListener("resize", labelTimelines);
document.addEventListener("htmx:afterSettle", labelTimelines);
