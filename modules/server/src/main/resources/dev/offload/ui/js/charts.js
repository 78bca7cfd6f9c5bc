// Charts drawn as SVG elements with attributes only (no style attributes), so they need
// nothing beyond the page's Content-Security-Policy. Each has a text alternative.
import { h, s } from './dom.js';
import { duration } from './format.js';

/** A half-circle gauge of used against granted. */
export function gauge(used, total, label) {
  const share = total > 0 ? Math.min(1, used / total) : 0;
  const arc = 'M 20 100 A 80 80 0 0 1 180 100';
  return s('svg', { class: 'gauge', viewBox: '0 0 200 112', role: 'img', 'aria-label': label },
    s('path', { d: arc, class: 'gauge-track', pathLength: 100 }),
    s('path', { d: arc, class: share >= 0.9 ? 'gauge-fill warn' : 'gauge-fill', pathLength: 100,
      'stroke-dasharray': `${(share * 100).toFixed(2)} 100` }),
    s('text', { x: 100, y: 92, class: 'gauge-text', 'text-anchor': 'middle' }, `${Math.round(share * 100)} %`));
}

/** A horizontal meter, e.g. spend against a limit. */
export function meter(value, max, label) {
  const share = max > 0 ? Math.min(1, value / max) : 0;
  return s('svg', { class: 'meter', width: '100%', height: 14, role: 'img', 'aria-label': label },
    s('rect', { class: 'meter-track', width: '100%', height: 14, rx: 7 }),
    s('rect', { class: share >= 0.9 ? 'meter-fill warn' : 'meter-fill', width: `${(share * 100).toFixed(2)}%`, height: 14, rx: 7 }));
}

/** Horizontal bars with their labels and values as text: [{label, value, text}]. */
export function bars(items, label) {
  const max = Math.max(1, ...items.map((i) => i.value));
  return h('ol', { class: 'bars', 'aria-label': label },
    items.map((item) => h('li', {},
      h('span', { class: 'bar-label', title: item.label }, item.label),
      s('svg', { class: 'bar-track', width: '100%', height: 14, 'aria-hidden': 'true' },
        s('rect', { class: 'bar-fill', width: `${((item.value / max) * 100).toFixed(2)}%`, height: 14, rx: 3 })),
      h('span', { class: 'bar-value', 'data-value': item.value }, item.text ?? String(item.value)))));
}

/** Vertical columns, oldest left, each a link: [{value, title, href}]. */
export function columns(items, label) {
  const max = Math.max(1, ...items.map((i) => i.value));
  const width = 24;
  const chart = s('svg', {
    class: 'columns', viewBox: `0 0 ${Math.max(1, items.length) * width} 100`, preserveAspectRatio: 'none',
    role: 'img', 'aria-label': label,
  });
  items.forEach((item, i) => {
    const height = Math.max(1.5, (item.value / max) * 100);
    chart.append(s('a', { href: item.href, 'aria-label': item.title },
      s('rect', { class: 'column', x: i * width + 3, y: 100 - height, width: width - 6, height },
        s('title', {}, item.title))));
  });
  return chart;
}

const KIND_LABELS = {
  provisioning: 'provisioning', active: 'active', 'grace-period': 'grace period', idle: 'idle',
};

/** Which colour (CSS class) and words a stretch gets: idle splits into billed and not billed. */
export function stretchKind(stretch) {
  if (stretch.kind === 'idle') return stretch.billed ? ['idle-billed', 'idle, billed'] : ['idle-free', 'idle, not billed'];
  return [stretch.kind, KIND_LABELS[stretch.kind] ?? stretch.kind];
}

/** A session's life as coloured stretches along one time axis. */
export function timeline(stretches, label) {
  const start = stretches.length ? Date.parse(stretches[0].from) : 0;
  const end = stretches.length ? Date.parse(stretches[stretches.length - 1].to) : 1;
  const span = Math.max(1, end - start);
  const chart = s('svg', { class: 'timeline', viewBox: '0 0 1000 40', preserveAspectRatio: 'none', role: 'img', 'aria-label': label },
    s('defs', {},
      s('pattern', { id: 'unbilled', width: 8, height: 8, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
        s('rect', { width: 8, height: 8, class: 'hatch-bg' }),
        s('rect', { width: 3, height: 8, class: 'hatch-line' }))));
  for (const stretch of stretches) {
    const from = Date.parse(stretch.from);
    const to = Date.parse(stretch.to);
    const [kind, words] = stretchKind(stretch);
    const seconds = (to - from) / 1000;
    chart.append(s('rect', {
      class: `stretch ${kind}`, x: ((from - start) / span) * 1000, y: 0,
      width: Math.max(1, ((to - from) / span) * 1000), height: 40,
    }, s('title', {}, `${words}: ${duration(seconds)}`)));
  }
  return chart;
}

export function legend() {
  return h('ul', { class: 'legend', 'aria-label': 'Legend' },
    [['active', 'active'], ['grace-period', 'grace period'], ['idle-billed', 'idle, billed'],
      ['idle-free', 'idle, not billed'], ['provisioning', 'provisioning (not billed)']]
      .map(([kind, words]) => h('li', {}, s('svg', { width: 14, height: 14, 'aria-hidden': 'true' },
        s('rect', { width: 14, height: 14, rx: 3, class: `stretch ${kind}` })), words)));
}
