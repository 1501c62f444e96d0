// Remote-control keys. Browsers deliver keyboard events; the STB's input plugin
// delivers the same names as the JSON-RPC event input.1.key {key}. See README.md.

const byKey = {
  ArrowUp: 'up', ArrowDown: 'down', ArrowLeft: 'left', ArrowRight: 'right',
  Enter: 'ok', Backspace: 'back', Escape: 'back', BrowserBack: 'back', GoBack: 'back',
  F1: 'red', F2: 'green', F3: 'yellow', F4: 'blue',
  ColorF0Red: 'red', ColorF1Green: 'green', ColorF2Yellow: 'yellow', ColorF3Blue: 'blue',
  r: 'red', g: 'green', y: 'yellow', b: 'blue',
};

export const remoteKeys = new Set(['up', 'down', 'left', 'right', 'ok', 'back',
  'red', 'green', 'yellow', 'blue', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

// The remote key of a keyboard event, or null.
export function keyOf(event) {
  if (event.ctrlKey || event.altKey || event.metaKey) return null;
  if (/^[0-9]$/.test(event.key)) return event.key;
  return byKey[event.key] || null;
}
