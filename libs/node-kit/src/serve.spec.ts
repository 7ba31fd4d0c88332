import { listenFailure } from './serve';

const failure = (code: string) => listenFailure({ host: 'h.example', port: 8123 }, Object.assign(new Error(`listen ${code}`), { code }));

describe('listenFailure', () => {
  it.each([
    ['EADDRINUSE', 'PORT 8123: already in use on h.example'],
    ['EACCES', 'PORT 8123: not allowed to listen on it (ports below 1024 need privileges)'],
    ['EADDRNOTAVAIL', 'HOST h.example: not an address of this machine'],
    ['ENOTFOUND', 'HOST h.example: cannot be resolved to an address'],
    ['EAI_AGAIN', 'HOST h.example: cannot be resolved to an address'],
    ['EMFILE', 'cannot listen on HOST h.example, PORT 8123: EMFILE'],
  ])('names the variable to change for %s', (code, message) => {
    expect(failure(code)).toBe(message);
  });
});
