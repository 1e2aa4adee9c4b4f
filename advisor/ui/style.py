"""How the browser UI looks beyond Gradio's theme: the verdict card (advisor/verdict.py), tables that keep whole
words in a column and turn into cards below 600 px, and a chat that shows each new answer from its start.

CSS is handed to ``gr.mount_gradio_app`` (advisor/server.py); LAYOUT_JS runs once per page (``demo.load``)."""

from __future__ import annotations

CSS = """
.verdict { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 12px; margin: 0 0 12px;
  background: var(--background-fill-secondary); }
.verdict-pick { font-size: 1.05em; margin-bottom: 6px; }
.verdict-detail { color: var(--body-text-color-subdued); font-size: 0.9em; margin-left: 6px; }
.verdict-row { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 10px; margin: 5px 0; }
.verdict-label { font-weight: 600; font-size: 0.95rem; min-width: 7.5em; }
.fit-bar { display: inline-block; flex: 0 0 140px; width: 140px; height: 10px; border-radius: 5px; overflow: hidden;
  background: var(--neutral-200, #e5e7eb); }
.fit-fill { display: block; height: 100%; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 0.85em; font-weight: 600; }
.badge-ok { background: #e8f5e9; color: #1b5e20; }
.badge-unsure { background: #fff8e1; color: #7a4f00; }
.badge-no { background: #ffebee; color: #b71c1c; }
.verdict-note { flex-basis: 100%; color: var(--body-text-color-subdued); font-size: 0.85em; padding-left: 7.5em; }
.prose details > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
/* a table column is never narrower than its longest word; long links in prose still wrap */
.prose table th, .prose table td { overflow-wrap: normal; word-break: normal; hyphens: none; }
.prose table { max-width: 100%; }
.prose { overflow-wrap: anywhere; }
.prose table { overflow-wrap: normal; }
.offscreen { position: absolute !important; left: -10000px !important; width: 1px !important; height: 1px !important;
  overflow: hidden !important; }
#model-page { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 12px; }
@media (max-width: 600px) {
  .verdict-note { padding-left: 0; }
  .prose table, .prose table tbody, .prose table tr, .prose table td { display: block; width: auto; }
  .prose table thead { display: none; }
  .prose table tr { border: 1px solid var(--border-color-primary); border-radius: 8px; margin: 8px 0;
    padding: 4px 8px; }
  .prose table td { display: inline-block; border: none; padding: 1px 12px 1px 0; text-align: left; }
  .prose table td:first-child { display: block; font-weight: 600; }
  .prose table td[data-label]:first-child::before { content: none; }
  .prose table td[data-label]:not([data-label=""])::before { content: attr(data-label) ": "; font-weight: 600; }
}
"""

# Labels every cell of a Markdown table with its column's header (the cards below 600 px show it), and keeps a new
# question at the top of the chat while its answer arrives, so the answer is read from its start (the chat's own
# autoscroll is off). Scrolling by hand stops the pinning.
LAYOUT_JS = """
() => {
  if (window.__advisorLayout) return;
  window.__advisorLayout = true;
  const label = () => document.querySelectorAll('.prose table').forEach((t) => {
    const heads = [...t.querySelectorAll('thead th')].map((th) => th.innerText.trim());
    t.querySelectorAll('tbody tr').forEach((tr) => [...tr.children].forEach((td, i) => {
      if (heads[i] !== undefined && td.getAttribute('data-label') !== heads[i]) td.setAttribute('data-label', heads[i]);
    }));
  });
  const scroller = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const y = getComputedStyle(p).overflowY;
      if (y === 'auto' || y === 'scroll') return p;
    }
    return null;
  };
  let seen = -1, pinned = null, since = 0;
  const stop = () => { pinned = null; };
  const pin = () => {
    if (!pinned || performance.now() - since > 30000) return;
    const box = scroller(pinned);
    if (!box) return;
    const offset = pinned.getBoundingClientRect().top - box.getBoundingClientRect().top;
    if (Math.abs(offset) > 2) box.scrollTop += offset;
  };
  const follow = () => {
    document.querySelectorAll('#chat, #exercise-chat').forEach((chat) => {
      const users = chat.querySelectorAll('[data-testid="user"]');
      if (chat.id === 'chat' && users.length !== seen) {
        if (users.length > seen && users.length) {
          pinned = users[users.length - 1].closest('.message-row') || users[users.length - 1];
          since = performance.now();
          const box = scroller(pinned);
          if (box && !box.__advisorWatched) {
            box.__advisorWatched = true;
            box.addEventListener('wheel', stop, {passive: true});
            box.addEventListener('touchmove', stop, {passive: true});
          }
        }
        seen = users.length;
      }
    });
    pin();
  };
  // a model's name in the catalog opens its page in place: its id goes to the hidden box the tab listens to
  document.addEventListener('click', (e) => {
    const link = e.target.closest && e.target.closest('#catalog-table a[href^="?model="]');
    const box = document.querySelector('#catalog-open textarea, #catalog-open input');
    if (!link || !box) return;
    e.preventDefault();
    box.value = new URLSearchParams(link.getAttribute('href').slice(1)).get('model');
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => {
      const shown = document.querySelector('#model-page');
      if (shown) shown.scrollIntoView({block: 'start'});
    }, 800);
  }, true);
  new MutationObserver(() => { label(); follow(); }).observe(document.body, {childList: true, subtree: true});
  label();
  follow();
}
"""
