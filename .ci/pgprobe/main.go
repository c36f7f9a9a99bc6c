// Command pgprobe exits 0 when the PostgreSQL server named by its argument
// answers a query, and 1 with the reason otherwise. .ci/run uses it.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pgprobe postgres://...")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgprobe: %v\n", err)
		os.Exit(1)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "select version()").Scan(&v); err != nil {
		fmt.Fprintf(os.Stderr, "pgprobe: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(v)
}
