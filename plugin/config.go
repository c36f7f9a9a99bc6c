package plugin

import "time"

// ConfigDuration reads a duration setting of a plugin's configuration
// ("30s", "5m"); empty gives def. An invalid or non-positive value is an
// ErrInvalid error naming the key as an operator writes it:
// plugins.<pluginID>.config.<key>.
func ConfigDuration(pluginID, key, value string, def time.Duration) (time.Duration, error) {
	if value == "" {
		return def, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, Errorf(ErrInvalid, "plugins.%s.config.%s: %q is not a positive duration such as 30s or 5m", pluginID, key, value)
	}
	return d, nil
}
