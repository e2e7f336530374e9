package e2e

import "testing"

func limitPluginCases(t *testing.T) []pluginCase { return nil }
