// Package dbosbench runs tandem's durable-step workloads on DBOS Transact Go
// (github.com/dbos-inc/dbos-transact-golang) on the same SQLite build, in the same run as
// tandem's engine and the raw SQLite floor, so "N x DBOS" is a figure anyone can rerun:
//
//	cd benchmarks/dbos && go test -run '^$' -bench Peers -benchtime 3x
//
// It is its own Go module so that tandem's go.mod does not carry DBOS and its dependencies;
// tandem itself comes from the repository through a replace directive.
package dbosbench
