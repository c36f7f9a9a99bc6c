// Package deptest holds the test that keeps package dependencies in line
// with the architecture: the catalog domain stays free of HTTP and SQL.
package deptest
