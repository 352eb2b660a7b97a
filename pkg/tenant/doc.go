// Package tenant is the lifecycle engine of kubectl-tenant: it knows what a
// tenant is (a vCluster in namespace vcluster-<name> of the host cluster) and
// drives create, connect, delete, list and status through small interfaces
// (Backend, Registrar) that plugins implement. It never imports cobra or
// bubbletea: commands and the TUI are thin faces over it, fed by the same
// progress events.
package tenant
