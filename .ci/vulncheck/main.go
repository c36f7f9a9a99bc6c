// Command vulncheck runs govulncheck against an offline vulnerability
// database and fails when a vulnerability that Atrium's code actually
// reaches is neither fixed nor listed, with a reason, in .ci/vuln-allow.txt.
//
//	go run ./.ci/vulncheck -govulncheck BIN -db DIR -allow .ci/vuln-allow.txt ./...
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

func main() {
	bin := flag.String("govulncheck", "govulncheck", "the govulncheck binary")
	db := flag.String("db", "", "directory of the offline vulnerability database (indexdb output)")
	allowFile := flag.String("allow", ".ci/vuln-allow.txt", "accepted findings: one OSV id and its reason per line")
	flag.Parse()
	if *db == "" {
		fail("-db is required")
	}
	allow, err := readAllow(*allowFile)
	if err != nil {
		fail(err.Error())
	}
	args := append([]string{"-db", "file://" + *db, "-format", "json", "-test"}, flag.Args()...)
	cmd := exec.Command(*bin, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	// govulncheck -format json exits 0 with findings; a non-zero exit is a
	// failure to scan.
	if err := cmd.Run(); err != nil {
		fail(fmt.Sprintf("govulncheck: %v\n%s", err, stderr.String()))
	}
	called, err := calledFindings(&out)
	if err != nil {
		fail(err.Error())
	}
	ids := make([]string, 0, len(called))
	for id := range called {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	bad := 0
	for _, id := range ids {
		if reason, ok := allow[id]; ok {
			fmt.Printf("accepted %s (%s): %s\n", id, called[id], reason)
			continue
		}
		bad++
		fmt.Printf("VULNERABLE %s: reached through %s; fix it or list it with a reason in %s\n", id, called[id], *allowFile)
	}
	for id := range allow {
		if _, ok := called[id]; !ok {
			fmt.Printf("note: %s is listed in %s but no longer found; remove it\n", id, *allowFile)
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
	fmt.Printf("govulncheck: %d reachable finding(s), all accepted with a reason\n", len(ids))
}

// calledFindings returns the OSV ids of findings whose trace reaches a
// vulnerable function, with the first frame of one trace.
func calledFindings(r io.Reader) (map[string]string, error) {
	dec := json.NewDecoder(r)
	found := map[string]string{}
	for {
		var msg struct {
			Finding *struct {
				OSV   string `json:"osv"`
				Trace []struct {
					Module   string `json:"module"`
					Package  string `json:"package"`
					Function string `json:"function"`
				} `json:"trace"`
			} `json:"finding"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return found, nil
		} else if err != nil {
			return nil, fmt.Errorf("reading govulncheck's output: %w", err)
		}
		f := msg.Finding
		if f == nil || len(f.Trace) == 0 || f.Trace[0].Function == "" {
			continue // imported or required, but not called
		}
		if _, ok := found[f.OSV]; !ok {
			t := f.Trace[0]
			found[f.OSV] = t.Package + "." + t.Function
		}
	}
}

func readAllow(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	allow := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, " ")
		if !strings.HasPrefix(id, "GO-") || strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: want `GO-YYYY-NNNN reason`, got %q", file, n, line)
		}
		allow[id] = strings.TrimSpace(reason)
	}
	return allow, sc.Err()
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "vulncheck: "+msg)
	os.Exit(2)
}
