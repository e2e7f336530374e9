package e2e

import "testing"

func directoryPluginCases(t *testing.T) []pluginCase { return nil }
