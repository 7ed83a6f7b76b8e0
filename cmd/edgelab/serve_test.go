package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
)

func TestServeDebugAddr(t *testing.T) {
	if _, err := startDebug("0.0.0.0:0"); err == nil {
		t.Fatal("a debug address off loopback was accepted")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := startDebug(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var vars struct {
		Goroutines int `json:"goroutines"`
	}
	if err := json.Unmarshal(b, &vars); err != nil || vars.Goroutines <= 0 {
		t.Fatalf("/debug/vars: %v, goroutines %d", err, vars.Goroutines)
	}
}
