// Command ${{ values.name }}: ${{ values.description }}.
package main

import (
	"log"
	"net/http"
)

func main() {
	http.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	log.Fatal(http.ListenAndServe(":${{ values.port }}", nil))
}
