// `npm start`: builds when a source changed since the last build, then runs the service in
// THIS process. One process, started by `exec` from npm's shell: a SIGTERM or SIGINT that npm
// forwards (from a process supervisor, a container runtime, Ctrl-C) reaches the service
// itself, which closes its clients with 1012 and exits 0. (A shell in between would die of
// the signal and leave the service running as an orphan.)
import './ensure-build.mjs';

// The bundle (scripts/bundle.mjs): one file for the start path instead of ~1,500.
await import('../dist/server/main.js');
