#!/usr/bin/env bash
# check_layers.sh - the layering rule of the three folders (README, Layout):
#   sim/kernel/   includes only sim/kernel/ headers (it knows nothing of mail);
#   models/       includes sim/kernel/ and models/ headers (no program);
#   sim/program/  includes anything.
# Includes are by bare name ("engine.h"), resolved against the folders, so
# a header's layer is where it lives.  Exits 1 naming every violation.
set -u
cd "$(dirname "$0")/.."
layer_of() { # header name -> kernel|model|program|unknown
	if [ -f "sim/kernel/$1" ]; then echo kernel
	elif [ -f "models/$1" ]; then echo model
	elif [ -f "sim/program/$1" ]; then echo program
	else echo unknown; fi
}
bad=0
check() { # folder, allowed layers...
	local dir=$1; shift
	local f inc l
	for f in "$dir"/*.[ch]; do
		while IFS= read -r inc; do
			l=$(layer_of "$inc")
			case " $* " in
			*" $l "*) ;;
			*) echo "$f: includes \"$inc\" from the $l layer" >&2; bad=1 ;;
			esac
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
}
check sim/kernel kernel
check models kernel model
check sim/program kernel model program
if [ $bad -ne 0 ]; then
	echo "check_layers: the kernel includes only itself; the model only the kernel and itself" >&2
	exit 1
fi
n=$(ls sim/kernel/*.[ch] models/*.[ch] sim/program/*.[ch] | wc -l)
echo "check_layers: $n files, every include within its layer"
