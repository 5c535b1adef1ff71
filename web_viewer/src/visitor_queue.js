// The queue at a destination's windows, from the public /api/queues (GB/T 40756 9.4.4.5): the numbers called
// there now, people waiting for its service and the expected wait. Nothing is shown where the hall has no queue
// data for the place (no queue system, or a room that takes no ticket).
import { el } from './dom.js';
import { fill } from './visitor_format.js';

const MAX_CALLS = 4;

// What /api/queues says about ``destination``: {calls, service} or null when it says nothing.
export function queueAt(queues, destination) {
  if (!queues?.configured || !destination) return null;
  const windows = new Set(destination.windows ?? []);
  const calls = (queues.calls ?? []).filter((call) => windows.has(String(call.window)));
  const service = (queues.services ?? []).find((s) => s.id === destination.ticket_service) ?? null;
  if (!service && !calls.length) return null;
  return { calls: calls.slice(0, MAX_CALLS), service };
}

export function queueBox(t, found) {
  const box = el('section', { class: 'queue', 'data-testid': 'queue' },
    el('h3', {}, t('visitor.queue.title')));
  const calling = el('div', { class: 'calls', 'data-testid': 'queue-calls' },
    el('span', { class: 'label' }, t('visitor.queue.calling')));
  if (found.calls.length) {
    for (const call of found.calls) {
      calling.append(el('span', { class: 'call', 'data-window': call.window },
        el('b', {}, call.ticket), fill(t('visitor.queue.at_window'), { window: call.window })));
    }
  } else {
    calling.append(el('span', { class: 'none' }, t('visitor.queue.none_called')));
  }
  box.append(calling);
  const service = found.service;
  if (service) {
    const facts = [];
    if (service.windows_open === 0) facts.push(t('visitor.queue.closed'));
    else {
      facts.push(fill(t('visitor.queue.waiting'), { n: service.waiting }));
      facts.push(service.waiting === 0 || !service.expected_wait_min ? t('visitor.queue.no_wait')
        : fill(t('visitor.queue.expected'), { n: Math.max(1, Math.round(service.expected_wait_min)) }));
      facts.push(fill(t('visitor.queue.windows_open'), { n: service.windows_open }));
    }
    box.append(el('p', { class: 'waiting', 'data-testid': 'queue-waiting', 'data-waiting': String(service.waiting) },
      facts.join(' · ')));
    box.append(el('p', { class: 'ticket-hint' }, fill(t('visitor.queue.ticket'), { prefix: service.prefix })));
  }
  return box;
}
