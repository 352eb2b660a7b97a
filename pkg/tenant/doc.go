// Package tenant is the lifecycle engine of kubectl-tenant: it knows what a
// tenant is (a vCluster in a namespace of the host cluster) and drives
// create, connect, delete, list, status, sleep, upgrade, gc and the warm
// pools through small interfaces (Backend, Registrar, GitOps, Claimer) that
// plugins and package warmpool implement. It never imports cobra or bubbletea: commands and the TUI are
// thin faces over it, fed by the same progress events.
//
// Two floors. Host (host.go) holds what every operation shares: the
// clients, the Backend, the kubeconfig and session stores, the clock and the
// reporter, and the primitives all of them use: Resolve, which finds a
// tenant once per operation and returns a *Target; WaitReady(*Target); the
// lease (lock, under a Target); annotate; poll. Engine embeds Host and adds
// the optional Registrar and GitOps; its methods are the operations the
// faces call, each resolving its tenant once and passing the Target on.
//
// Which namespace is tenant NAME (Resolve): vcluster-NAME labelled with the
// name, or a warm spare the tool made (named vcluster-spare-*, managed-by
// kubectl-tenant) that a create claimed for NAME (claimed-at set) and that
// holds the tool's release. Any other namespace carrying the name label is
// ignored, with a warning: no verb deletes it, installs into it or reads
// credentials from it.
//
// Spec is what gets installed, whatever the tenant's name: CreateOptions,
// InstallRequest and UpgradeOptions embed it, and SpecHash (with the
// Backend's SpecFingerprint: its own values, the resolved chart) decides
// which warm spare a create may claim.
//
// Warm pools live in package warmpool (top-up, claim, replace, status, a
// pool's Config), which imports this one and never the reverse: create
// reaches a pool through CreateOptions.Claimer. What stays here is what a
// spare is (spare.go: SpecHash, listing, InstallSpare, RemoveSpare) and
// how same-name creates end with one namespace (claim.go: a claim
// reserves, Settles and binds; a new vcluster-NAME is settled too).
package tenant
