// Command hello is the tiny Windows program the conformance suite builds
// (GOOS=windows GOARCH=amd64) and Authenticode-signs with osslsigncode.
package main

import "fmt"

func main() { fmt.Println("hello from a binary signed through p11kms") }
