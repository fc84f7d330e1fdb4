"""The course's test suite (a regular package, so that `tests.helpers` is ours and not a `tests`
package some dependency installs into site-packages, as torch-fidelity 0.4.0 does)."""
