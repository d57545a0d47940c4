// Search the course, offline: lunr.js (from the npm registry) over an index of every section of every
// page, written into search_index.js when the site is built. Both load on the first use of the box,
// as plain scripts, so search also works on pages opened from disk (file://).
(() => {
  const box = document.getElementById('bp-search');
  if (!box) return;
  const results = document.getElementById('bp-results');
  const root = box.dataset.root || '';
  let ready = null, index = null, docs = null;

  const load = src => new Promise((ok, fail) => {
    const s = document.createElement('script');
    s.src = root + src; s.onload = ok; s.onerror = () => fail(new Error('cannot load ' + src));
    document.head.appendChild(s);
  });

  function prepare() {
    ready = ready || Promise.all([load('lunr.min.js'), load('search_index.js')]).then(() => {
      docs = window.BP_SEARCH_DOCS;
      index = lunr(function () {
        this.ref('i');
        this.field('heading', {boost: 10});
        this.field('text');
        docs.forEach((d, i) => this.add({i: String(i), heading: d.heading, text: d.text}));
      });
    });
    return ready;
  }

  const escape = s => s.replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));

  function show(query) {
    const words = lunr.tokenizer(query).map(t => t.toString()).filter(Boolean);
    results.innerHTML = '';
    if (!words.length) return;
    const hits = index.query(q => words.forEach(w => {
      q.term(w, {boost: 10});                                            // the word itself (stemmed)
      q.term(w, {usePipeline: false, wildcard: lunr.Query.wildcard.TRAILING});  // as a prefix, while typing
    })).slice(0, 12);
    if (!hits.length) { results.innerHTML = '<li class="bp-none">No section matches.</li>'; return; }
    results.innerHTML = hits.map(h => {
      const d = docs[Number(h.ref)];
      const where = d.heading.startsWith(d.page) ? d.heading : `${d.page} › ${d.heading}`;
      return `<li><a href="${root}${d.href}">${escape(where)}</a><small>${escape(d.snippet)}…</small></li>`;
    }).join('');
  }

  box.addEventListener('focus', prepare);
  box.addEventListener('input', () => prepare().then(() => show(box.value)));
})();
