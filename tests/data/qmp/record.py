#!/usr/bin/env python3
# Records the QMP samples in this folder from the real QEMU (run it to refresh
# them after a QEMU upgrade): one file per command reply or event list.
import socket, json, subprocess, time, os, sys
sock='/tmp/vnumad-qmp-record.sock'
if os.path.exists(sock): os.unlink(sock)
args=['qemu-system-x86_64','-S','-accel','tcg','-machine','q35','-cpu','max,vendor=GenuineIntel','-m','256M,slots=2,maxmem=1G',
 '-smp','1,maxcpus=4,sockets=2,cores=1,threads=2',
 '-object','memory-backend-ram,id=m0,size=128M','-object','memory-backend-ram,id=m1,size=128M',
 '-numa','node,nodeid=0,cpus=0-1,memdev=m0','-numa','node,nodeid=1,cpus=2-3,memdev=m1',
 '-display','none','-nodefaults','-qmp',f'unix:{sock},server=on,wait=off']
p=subprocess.Popen(args)
for i in range(100):
    if os.path.exists(sock): break
    time.sleep(0.05)
s=socket.socket(socket.AF_UNIX); s.connect(sock); f=s.makefile('rwb')
def rd():
    return json.loads(f.readline())
out={}
out['greeting']=rd()
def ex(name, args=None, idv=1):
    cmd={'execute':name,'id':idv}
    if args: cmd['arguments']=args
    f.write((json.dumps(cmd)+'\n').encode()); f.flush()
    evs=[]
    while True:
        m=rd()
        if 'event' in m: evs.append(m); continue
        return m, evs
out['qmp_capabilities'],_=ex('qmp_capabilities')
out['query-hotpluggable-cpus'],_=ex('query-hotpluggable-cpus')
out['query-status-paused'],_=ex('query-status')
hp=out['query-hotpluggable-cpus']['return']
slot=[c for c in hp if 'qom-path' not in c][0]
a=dict(slot['props']); a['driver']=slot['type']; a['id']='vcpu1'
out['device_add-cpu'],_=ex('device_add',a)
out['query-hotpluggable-cpus-after'],_=ex('query-hotpluggable-cpus')
out['query-cpus-fast'],_=ex('query-cpus-fast')
out['object-add-memory-backend-ram'],_=ex('object-add',{'qom-type':'memory-backend-ram','id':'mem-dimm0','size':134217728,'host-nodes':[0],'policy':'bind'})
out['device_add-pc-dimm'],_=ex('device_add',{'driver':'pc-dimm','id':'dimm0','memdev':'mem-dimm0','node':1})
out['query-memory-devices'],_=ex('query-memory-devices')
out['device_del-cpu-paused-error'],_=ex('device_del',{'id':'vcpu1'})
out['device_add-bad-driver-error'],_=ex('device_add',{'driver':'no-such-device','id':'x'})
out['cont'],ev=ex('cont'); out['cont-events']=ev
time.sleep(0.2)
out['query-status-running'],ev2=ex('query-status'); out['cont-events']+=ev2
out['stop'],ev=ex('stop'); out['stop-events']=ev
out['system_reset'],ev=ex('system_reset'); out['system_reset-events']=ev
out['system_powerdown'],ev=ex('system_powerdown'); out['system_powerdown-events']=ev
out['quit'],ev=ex('quit'); 
evs=ev
while True:
    try: l=f.readline()
    except ConnectionResetError: break
    if not l: break
    evs.append(json.loads(l))
out['quit-events']=evs
p.wait()
for k,v in out.items():
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), f'{k}.json'),'w').write(json.dumps(v,indent=2)+'\n')
print(json.dumps(out,indent=1)[:6000])
