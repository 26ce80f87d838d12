// Keeps the page and the verifier available offline: the page's own files
// are served from a cache, refreshed from the network when it answers.
const CACHE = 'zkinf-web-v3';
const FILES = ['./', './index.html', './app.js', './worker.js', './pkg/zkinf_web.js', './pkg/zkinf_web_bg.wasm'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  const own = url.origin === location.origin &&
    FILES.some((f) => new URL(f, self.registration.scope).pathname === url.pathname);
  if (e.request.method !== 'GET' || !own) return;
  e.respondWith(
    fetch(e.request)
      .then((r) => {
        const copy = r.clone();
        caches.open(CACHE).then((c) => c.put(url.pathname, copy));
        return r;
      })
      .catch(() => caches.match(url.pathname)),
  );
});
