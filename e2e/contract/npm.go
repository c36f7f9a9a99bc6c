// Package contract runs Backstage's own catalog client, installed from npm,
// against a running Atrium. The test lives in contract_test.go; this file
// installs and caches the client.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The pinned npm packages the contract is checked against.
const (
	ClientPackage = "@backstage/catalog-client"
	ClientVersion = "1.16.2"
	ModelPackage  = "@backstage/catalog-model"
	ModelVersion  = "1.10.1"
)

// CacheName is the folder under the user cache folder that keeps the
// installed packages between runs.
const CacheName = "atrium-contract-catalog-client-" + ClientVersion + "-catalog-model-" + ModelVersion

// ErrNetwork marks an install that failed because the registry could not be
// reached, as opposed to a broken install.
var ErrNetwork = errors.New("npm registry unreachable")

// networkSigns are npm error codes that mean the registry was not reached.
var networkSigns = []string{"ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH", "network"}

// Install returns a folder whose node_modules holds the pinned packages. It
// reuses cacheDir when it already holds them; otherwise it installs into a
// fresh folder beside cacheDir and moves that into place, so that an
// interrupted install never leaves a half-filled cache. An empty cacheDir
// installs into scratch (which must exist) without caching.
func Install(ctx context.Context, cacheDir, scratch string) (string, error) {
	if cacheDir != "" && installed(cacheDir) {
		return cacheDir, nil
	}
	dir := scratch
	if cacheDir != "" {
		if err := os.MkdirAll(filepath.Dir(cacheDir), 0o755); err != nil {
			return "", err
		}
		tmp, err := os.MkdirTemp(filepath.Dir(cacheDir), filepath.Base(cacheDir)+".tmp-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	pkg := []byte(`{"name":"atrium-contract","private":true,"type":"module"}` + "\n")
	if err := os.WriteFile(filepath.Join(dir, "package.json"), pkg, 0o644); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error",
		ClientPackage+"@"+ClientVersion, ModelPackage+"@"+ModelVersion)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		msg := out.String()
		for _, s := range networkSigns {
			if strings.Contains(msg, s) {
				return "", fmt.Errorf("%w: npm install: %v\n%s", ErrNetwork, err, msg)
			}
		}
		return "", fmt.Errorf("npm install: %v\n%s", err, msg)
	}
	if !installed(dir) {
		return "", fmt.Errorf("npm install succeeded but %s@%s is not in %s", ClientPackage, ClientVersion, dir)
	}
	if cacheDir == "" {
		return dir, nil
	}
	// Another run may have filled the cache meanwhile; either copy is good.
	if err := os.Rename(dir, cacheDir); err != nil && !installed(cacheDir) {
		return "", fmt.Errorf("caching the npm install: %w", err)
	}
	return cacheDir, nil
}

// installed reports whether dir holds both pinned packages.
func installed(dir string) bool {
	for _, p := range [][2]string{{ClientPackage, ClientVersion}, {ModelPackage, ModelVersion}} {
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", filepath.FromSlash(p[0]), "package.json"))
		if err != nil {
			return false
		}
		var meta struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(b, &meta) != nil || meta.Version != p[1] {
			return false
		}
	}
	return true
}
