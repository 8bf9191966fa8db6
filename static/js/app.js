// Small behaviours that need script. Kept out of the HTML: the CSP forbids inline script.
document.addEventListener("htmx:responseError", (event) => {
  // htmx 2 does not swap error bodies; tell the user instead of failing silently.
  const status = event.detail.xhr.status;
  const text = status === 403 ? "Your role does not allow this." : status === 404 ? "That no longer exists." : "Something went wrong; please try again.";
  let box = document.getElementById("messages");
  if (!box) {
    box = document.createElement("div");
    box.id = "messages";
    box.className = "messages";
    box.setAttribute("role", "status");
    document.getElementById("main").prepend(box);
  }
  const p = document.createElement("p");
  p.className = "message message-error";
  p.textContent = text;
  box.append(p);
});

document.addEventListener("htmx:beforeRequest", (event) => {
  // A live region that polls (the dashboard's open alerts) holds forms: do not swap them
  // away while someone is typing a note in one. The next poll after they leave it refreshes.
  const region = event.detail.elt;
  if (!region.hasAttribute || !region.hasAttribute("data-poll-waits-for-typing")) return;
  const busy = region.contains(document.activeElement) && document.activeElement.matches("input, textarea, select");
  const typed = Array.from(region.querySelectorAll("input:not([type=hidden]), textarea")).some((f) => f.value);
  if (busy || typed) event.preventDefault();
});
// Destructive actions confirm first (outsourcing/confirm.py): a form with data-confirm (or a
// submit button with one) asks before it is sent, by htmx or plainly. Listening on the
// document in the capture phase runs before htmx's own submit handler on the form, so
// "Cancel" stops both. "OK" adds confirm=yes, which the server requires; without script the
// server shows a confirmation page instead.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const button = event.submitter;
  const question = (button && button.dataset.confirm) || form.dataset.confirm;
  if (!question) return;
  if (!window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
    return;
  }
  let input = form.querySelector('input[name="confirm"]');
  if (!input) {
    input = document.createElement("input");
    input.type = "hidden";
    input.name = "confirm";
    form.append(input);
  }
  input.value = "yes";
}, true);
