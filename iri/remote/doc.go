// Package remote connects ironfed components over the IronCore Runtime
// Interface (IRI): endpoint resolution, dialing, per-kind clients with
// per-call timeouts, a Watcher that falls back to polling when a runtime
// lacks the watch extension, and the server scaffolding (socket handling,
// panic recovery, logging, metrics) every IRI server shares.
package remote
