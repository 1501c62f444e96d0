// Display formats: money from integer minor units, times, refusal messages.

export function money(amount, currency) {
  try {
    const f = new Intl.NumberFormat('en-GB', { style: 'currency', currency });
    const digits = f.resolvedOptions().maximumFractionDigits;
    return f.format(amount / 10 ** digits);
  } catch (e) {
    return `${amount} ${currency} (minor units)`;
  }
}

const pad = (n) => String(n).padStart(2, '0');

export function time(unix) {
  const d = new Date(unix * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// "08:46" today, "Mon 23 Nov 08:46" on another day: short enough for a guide row.
export function when(unix) {
  const d = new Date(unix * 1000);
  if (d.toDateString() === new Date().toDateString()) return time(unix);
  return `${d.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short' })} ${time(unix)}`;
}

// What a ticket allows, shown before the purchase: "Rental: 48 h from the first play. 2 views." ('' when unlimited).
export function terms(ev) {
  const parts = [];
  if (ev.playbackWindowSeconds) {
    const hours = ev.playbackWindowSeconds / 3600;
    const length = hours >= 1 ? `${Math.round(hours * 10) / 10} h` : `${Math.round(ev.playbackWindowSeconds / 60)} min`;
    parts.push(`Rental: ${length} from the first play.`);
  }
  if (ev.views) parts.push(ev.views === 1 ? '1 view.' : `${ev.views} views.`);
  return parts.join(' ');
}

export function dateTime(unix) {
  const d = new Date(unix * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time(unix)}`;
}

// One clear sentence per refusal keyword of the ppv contract (plugins/ppv/README.md).
export const refusals = {
  'pin-wrong': 'Wrong PIN.',
  'pin-locked': 'PIN locked after too many wrong attempts.',
  'no-credit': 'Not enough credit for this purchase. Settle your bill on your phone to free credit.',
  // A purchase on credit without a line (flow 5) above the credit billing has left.
  'over-credit-limit': 'This purchase is over your credit limit.',
  'window-closed': 'This event is no longer on sale.',
  'not-yet-on-sale': 'This event is not on sale yet.',
  blackout: 'This event is blacked out in your area.',
  'phone-not-paired': 'No phone is paired. Press BLUE to pair your phone, then try again.',
  'phone-unreachable': 'Your phone cannot be reached. Bring it near the box and open the BoxOffice app.',
  'already-owned': 'You already have a ticket for this event.',
  'ticket-expired': 'Your ticket for this event has expired.',
  'no-views-left': 'Your ticket for this event has no views left.',
  'no-line': 'The box has no connection to the operator right now.',
  'server-refused': 'The operator refused this purchase.',
  'not-registered': 'This box is not registered yet.',
  unavailable: 'The box is not answering. Please wait a moment.',
};

// Order states that end the purchase, with what the viewer is told.
export const orderEnds = {
  approved: 'Approved. Your ticket is ready.',
  declined: 'The purchase was declined on your phone.',
  'not-me': 'Reported as "not me" on your phone: the purchase was voided.',
  expired: 'The approval timed out.',
  failed: 'The purchase failed.',
  cancelled: 'The purchase was cancelled.',
};

// A purchase on credit (flow 5, no line): approved at once, charged when the phone settles it.
export const creditApproved = 'Bought on credit. Your ticket is ready; your phone settles the purchase later.';

// How an order was paid (ppv's Order.method).
export const methodText = { phone: 'phone', otp: 'one-time password', credit: 'credit' };

// A history record's settlement status.
export const settlementText = (record) => (record.settled ? 'settled' : 'waiting for settlement');

export const orderSteps = {
  ordering: 'Ordering…',
  'awaiting-phone': 'Waiting for approval on your phone…',
  'awaiting-otp': 'Enter the one-time password sent to your phone.',
};

const known = Object.keys(refusals);

// The refusal keyword of an RpcError: data.reason, else a keyword the message starts with.
export function reasonOf(error) {
  if (error.reason) return error.reason;
  const head = String(error.message || '').split(/[:\s]/)[0];
  if (known.includes(head)) return head;
  return error.keyword === 'unavailable' ? 'unavailable' : '';
}
