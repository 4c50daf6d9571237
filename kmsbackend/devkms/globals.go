package devkms

import (
	"fmt"
	"sync"

	"github.com/nsmithuk/local-kms/src/config"
)

// AccountID is the AWS account id that appears in every ARN the dev KMS issues
// (local-kms's own default, see its start.go).
const AccountID = "111122223333"

// local-kms keeps its region and account id in package variables
// (src/config/config.go), so every Server in one process shares them. The
// registry below lets several Servers run at once as long as they agree on
// the region, and writes the variables only while no Server is running, so
// no handler goroutine can read them while they change.
var registry struct {
	sync.Mutex
	running int
	region  string
}

// acquireRegion claims local-kms's process-wide configuration for region.
func acquireRegion(region string) error {
	registry.Lock()
	defer registry.Unlock()
	if registry.running > 0 && registry.region != region {
		return fmt.Errorf("devkms: a dev KMS for region %q already runs in this process; local-kms cannot serve %q at the same time", registry.region, region)
	}
	if registry.running == 0 {
		config.AWSRegion = region
		config.AWSAccountId = AccountID
		registry.region = region
	}
	registry.running++
	return nil
}

// releaseRegion gives back a claim taken by acquireRegion.
func releaseRegion() {
	registry.Lock()
	defer registry.Unlock()
	registry.running--
}
